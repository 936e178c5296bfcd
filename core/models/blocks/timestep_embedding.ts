/**
 * The UNet's time conditioning: diffusers `get_timestep_embedding` (sinusoid computed in
 * the graph from the float32 timestep [B], with the frequency table a float32 constant
 * computed as torch does) and `TimestepEmbedding` (linear_1 → act → linear_2).
 *
 * @module
 */
import { type Builder, DType } from "../../onnx/mod.ts";
import { type Activation, activation } from "./activation.ts";
import type { BlockContext } from "./context.ts";
import { linear } from "./linear.ts";

/** Options of {@link timestepSinusoid} (diffusers `Timesteps`). */
export interface SinusoidOptions {
  /** Embedding width (UNet: block_out_channels[0]). */
  dim: number;
  /** Emit (cos, sin) rather than (sin, cos). */
  flipSinToCos: boolean;
  /** `downscale_freq_shift` (config `freq_shift`). */
  freqShift: number;
  /** Default 10000. */
  maxPeriod?: number;
}

/**
 * The float32 frequencies exp(-ln(maxPeriod)·i/(half - shift)), i < half, rounded as
 * torch's float32 arithmetic rounds them.
 * @example
 * ```ts
 * import { timestepFrequencies } from "./timestep_embedding.ts";
 * console.assert(timestepFrequencies(160, 0)[0] === 1);
 * ```
 */
export function timestepFrequencies(half: number, freqShift: number, maxPeriod = 10000): number[] {
  const f = Math.fround;
  const c = f(-Math.log(maxPeriod));
  const den = f(half - freqShift);
  return Array.from({ length: half }, (_, i) => f(Math.exp(f(f(c * i) / den))));
}

/**
 * t [B] → [B, dim]: cat(sin(t·freq), cos(t·freq)), flipped to (cos, sin) when asked;
 * an odd dim gets a zero column at the end.
 * @example
 * ```ts ignore
 * const emb = timestepSinusoid(g, "timestep", { dim: 320, flipSinToCos: true, freqShift: 0 });
 * ```
 */
export function timestepSinusoid(g: Builder, t: string, o: SinusoidOptions): string {
  const half = Math.floor(o.dim / 2);
  if (half === 0 || half === o.freqShift) {
    throw new Error(
      `timestep embedding: dim ${o.dim} with freq_shift ${o.freqShift} is degenerate`,
    );
  }
  const freqs = g.constant(
    DType.FLOAT,
    [1, half],
    timestepFrequencies(half, o.freqShift, o.maxPeriod),
  );
  const arg = g.mul(g.unsqueeze(t, [1]), freqs);
  const sin = g.sin(arg);
  const cos = g.cos(arg);
  const emb = g.concat(o.flipSinToCos ? [cos, sin] : [sin, cos], 1);
  return o.dim % 2 === 1 ? g.pad(emb, [0, 0, 0, 1]) : emb;
}

/**
 * diffusers `TimestepEmbedding`: linear_1 → act → linear_2, tensors under `ctx`.
 * @example
 * ```ts ignore
 * const temb = timestepEmbedding(ctx.at("time_embedding"), emb, 1280, "silu");
 * ```
 */
export function timestepEmbedding(
  ctx: BlockContext,
  emb: string,
  timeEmbedDim: number,
  act: Activation,
): string {
  const h = linear(ctx.at("linear_1"), emb, { outFeatures: timeEmbedDim });
  return linear(ctx.at("linear_2"), activation(ctx.g, act, h), { outFeatures: timeEmbedDim });
}
