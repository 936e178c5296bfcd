/**
 * The one serialisation of a training checkpoint ({@linkcode TrainCheckpoint}): a JSON object
 * whose arrays are base64 of their little-endian bytes, so a resumed run continues bit for
 * bit. `deno task train --checkpoint` (a file, with the model and options beside it) and the
 * HTTP jobs (`jobs/<id>/checkpoint.json` in the store) both write this body under their own
 * `format` tag.
 *
 * @example
 * ```ts
 * import { checkpointBody, parseCheckpointBody } from "./checkpoint.ts";
 * const c = {
 *   step: 2,
 *   ctx: new Float32Array([0.5, -1]),
 *   adam: { step: 2, m: new Float64Array(2), v: new Float64Array(2) },
 *   lossCurve: [1, 0.5],
 * };
 * const back = parseCheckpointBody(JSON.parse(JSON.stringify(checkpointBody(c))));
 * console.assert(back !== null && back.ctx[1] === -1 && back.step === 2);
 * ```
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { z } from "zod";
import type { TrainCheckpoint } from "./train.ts";

/** The JSON body of a checkpoint (without the writer's `format` tag and envelope). */
export const CheckpointBodySchema = z.object({
  step: z.number().int().min(0),
  lossCurve: z.array(z.number()),
  ctx: z.string(),
  adam: z.object({ step: z.number().int().min(0), m: z.string(), v: z.string() }),
  responsibilities: z.array(z.number()).optional(),
});

/** The JSON body of a checkpoint. */
export type CheckpointBody = z.infer<typeof CheckpointBodySchema>;

const b64 = (a: Float32Array | Float64Array) =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");

const floats = <T>(s: string, make: (b: ArrayBuffer) => T): T =>
  make(new Uint8Array(Buffer.from(s, "base64")).buffer);

/**
 * A checkpoint as its JSON body.
 *
 * @param c The checkpoint.
 * @returns The body, ready for `JSON.stringify`.
 */
export function checkpointBody(c: TrainCheckpoint): CheckpointBody {
  return {
    step: c.step,
    lossCurve: c.lossCurve,
    ctx: b64(c.ctx),
    adam: { step: c.adam.step, m: b64(c.adam.m), v: b64(c.adam.v) },
    ...(c.responsibilities ? { responsibilities: c.responsibilities } : {}),
  };
}

/**
 * The checkpoint a parsed JSON body describes.
 *
 * @param json A parsed JSON value (extra fields, such as the writer's envelope, are ignored).
 * @returns The checkpoint, or null when the body does not match the schema.
 */
export function parseCheckpointBody(json: unknown): TrainCheckpoint | null {
  const r = CheckpointBodySchema.safeParse(json);
  if (!r.success) return null;
  const f = r.data;
  return {
    step: f.step,
    lossCurve: f.lossCurve,
    ctx: floats(f.ctx, (b) => new Float32Array(b)),
    adam: {
      step: f.adam.step,
      m: floats(f.adam.m, (b) => new Float64Array(b)),
      v: floats(f.adam.v, (b) => new Float64Array(b)),
    },
    ...(f.responsibilities ? { responsibilities: f.responsibilities } : {}),
  };
}
