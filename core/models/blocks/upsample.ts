/**
 * diffusers `Upsample2D` with a conv: nearest-neighbour ×2 (Resize with scales, so the
 * batch axis is not baked in) followed by a 3x3 conv.
 *
 * @module
 */
import { attr, DType } from "../../onnx/mod.ts";
import type { BlockContext } from "./context.ts";
import { conv2d } from "./conv2d.ts";

/**
 * Doubles H and W of [B, C, H, W] with tensors `conv.weight`/`conv.bias` under `ctx`.
 * @example
 * ```ts ignore
 * const y = upsample2D(ctx.at("upsamplers.0"), x);
 * ```
 */
export function upsample2D(ctx: BlockContext, x: string): string {
  const g = ctx.g;
  const scales = g.constant(DType.FLOAT, [4], [1, 1, 2, 2]);
  const up = g.one("Resize", [x, "", scales], [
    attr.string("mode", "nearest"),
    attr.string("coordinate_transformation_mode", "asymmetric"),
    attr.string("nearest_mode", "floor"),
  ]);
  return conv2d(ctx.at("conv"), up, { outChannels: g.shape(x)[1]! });
}
