/**
 * torch.nn.LayerNorm over the last axis: one LayerNormalization node (opset 17).
 *
 * @module
 */
import { attr } from "../../onnx/mod.ts";
import type { BlockContext } from "./context.ts";

/**
 * LayerNorm with tensors `weight` and `bias` [d] under `ctx`.
 * @example
 * ```ts ignore
 * const h = layerNorm(ctx.at("norm1"), x, 1e-5);
 * ```
 */
export function layerNorm(ctx: BlockContext, x: string, eps: number): string {
  const shape = ctx.g.shape(x);
  const d = shape[shape.length - 1]!;
  return ctx.g.one("LayerNormalization", [x, ctx.param("weight", [d]), ctx.param("bias", [d])], [
    attr.int("axis", -1),
    attr.float("epsilon", eps),
  ]);
}
