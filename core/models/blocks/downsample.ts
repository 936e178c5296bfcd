/**
 * diffusers `Downsample2D` with a conv: a stride-2 3x3 conv; with padding 0 (the VAE
 * encoder's setting) the input is first padded by one row and column at the end, as
 * `F.pad(x, (0, 1, 0, 1))` does.
 *
 * @module
 */
import type { BlockContext } from "./context.ts";
import { conv2d } from "./conv2d.ts";

/**
 * Halves H and W of [B, C, H, W] with tensors `conv.weight`/`conv.bias` under `ctx`.
 * @param padding the conv's padding (`downsample_padding`: 1 in the UNet, 0 in the VAE)
 * @example
 * ```ts ignore
 * const y = downsample2D(ctx.at("downsamplers.0"), x, 1);
 * ```
 */
export function downsample2D(ctx: BlockContext, x: string, padding: number): string {
  const c = ctx.g.shape(x)[1]!;
  const input = padding === 0 ? ctx.g.pad(x, [0, 0, 0, 0, 0, 0, 1, 1]) : x;
  return conv2d(ctx.at("conv"), input, { outChannels: c, stride: 2, padding });
}
