/**
 * The one serialisation of a training checkpoint ({@linkcode TrainCheckpoint}): a JSON object
 * whose arrays are base64 of their little-endian bytes (core/optim/state_body.ts, shared with
 * the world model's training state), so a resumed run continues bit for bit. `deno task train --checkpoint` (a file, with the model and options beside it) and the
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
import { z } from "zod";
import {
  adamStateBody,
  AdamStateBodySchema,
  float32FromBody,
  floatsBody,
  parseAdamStateBody,
} from "../optim/mod.ts";
import type { TrainCheckpoint } from "./train.ts";

/** The JSON body of a checkpoint (without the writer's `format` tag and envelope). */
export const CheckpointBodySchema = z.object({
  step: z.number().int().min(0),
  lossCurve: z.array(z.number()),
  ctx: z.string(),
  adam: AdamStateBodySchema,
  responsibilities: z.array(z.number()).optional(),
});

/** The JSON body of a checkpoint. */
export type CheckpointBody = z.infer<typeof CheckpointBodySchema>;

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
    ctx: floatsBody(c.ctx),
    adam: adamStateBody(c.adam),
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
  // The schema keeps only its own fields: step, lossCurve and responsibilities pass as read.
  const { ctx, adam, ...rest } = r.data;
  return { ...rest, ctx: float32FromBody(ctx), adam: parseAdamStateBody(adam) };
}
