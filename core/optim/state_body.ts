/**
 * The one lower-level serialisation of training state as JSON: float vectors as base64 of
 * their little-endian bytes (so a resumed run continues bit for bit) and AdamW state as
 * `{step, m, v}` with m and v so encoded. Both training checkpoints build on it: the
 * soft-prompt checkpoint (core/distribution/checkpoint.ts) and the world model's training
 * state (core/training/train_state.ts).
 *
 * @example
 * ```ts
 * import { adamStateBody, parseAdamStateBody } from "./state_body.ts";
 * const s = { step: 3, m: new Float64Array([0.5]), v: new Float64Array([2]) };
 * const back = parseAdamStateBody(JSON.parse(JSON.stringify(adamStateBody(s))));
 * console.assert(back.step === 3 && back.v[0] === 2);
 * ```
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { z } from "zod";
import type { AdamWState } from "./adamw.ts";

/** A float vector as base64 of its little-endian bytes. */
export function floatsBody(a: Float32Array | Float64Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");
}

/** The float32 vector a {@linkcode floatsBody} string holds (a fresh, owned buffer). */
export function float32FromBody(s: string): Float32Array {
  return new Float32Array(new Uint8Array(Buffer.from(s, "base64")).buffer);
}

/** The float64 vector a {@linkcode floatsBody} string holds (a fresh, owned buffer). */
export function float64FromBody(s: string): Float64Array {
  return new Float64Array(new Uint8Array(Buffer.from(s, "base64")).buffer);
}

/** AdamW state as JSON. */
export const AdamStateBodySchema = z.object({
  step: z.number().int().min(0),
  m: z.string(),
  v: z.string(),
});

/** AdamW state as JSON. */
export type AdamStateBody = z.infer<typeof AdamStateBodySchema>;

/** AdamW state as its JSON body. */
export function adamStateBody(s: AdamWState): AdamStateBody {
  return { step: s.step, m: floatsBody(s.m), v: floatsBody(s.v) };
}

/** The AdamW state of a body already checked against {@linkcode AdamStateBodySchema}. */
export function parseAdamStateBody(b: AdamStateBody): AdamWState {
  return { step: b.step, m: float64FromBody(b.m), v: float64FromBody(b.v) };
}
