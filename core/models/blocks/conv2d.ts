/**
 * torch.nn.Conv2d with "same"-style symmetric padding, tensors `weight` [out, in, k, k]
 * and `bias` [out].
 *
 * @module
 */
import type { BlockContext } from "./context.ts";

/** Options of {@link conv2d}. */
export interface Conv2dOptions {
  outChannels: number;
  /** Square kernel side (default 3). */
  kernel?: number;
  /** Stride (default 1). */
  stride?: number;
  /** Symmetric padding (default (kernel - 1) / 2). */
  padding?: number;
}

/**
 * A 2-D convolution on [B, C, H, W].
 * @example
 * ```ts ignore
 * const h = conv2d(ctx.at("conv1"), x, { outChannels: 320 });
 * ```
 */
export function conv2d(ctx: BlockContext, x: string, o: Conv2dOptions): string {
  const k = o.kernel ?? 3;
  const p = o.padding ?? (k - 1) / 2;
  const s = o.stride ?? 1;
  const inChannels = ctx.g.shape(x)[1]!;
  const w = ctx.param("weight", [o.outChannels, inChannels, k, k]);
  const b = ctx.param("bias", [o.outChannels]);
  return ctx.g.conv(x, w, b, { pads: [p, p, p, p], strides: [s, s] });
}
