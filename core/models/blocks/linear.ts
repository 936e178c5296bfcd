/**
 * torch.nn.Linear: y = x·Wᵀ + b over the last axis of an input of any rank. The stored
 * [out, in] weight is transposed in the graph (ONNX Runtime folds it once), so the
 * external tensor is used as it is on disk.
 *
 * @module
 */
import type { BlockContext } from "./context.ts";

/** Options of {@link linear}. */
export interface LinearOptions {
  /** Output features. */
  outFeatures: number;
  /** Whether the module has a bias (default: true). */
  bias?: boolean;
}

/**
 * A Linear layer with tensors `weight` [out, in] and optional `bias` [out] under `ctx`.
 * @example
 * ```ts ignore
 * const q = linear(ctx.at("to_q"), x, { outFeatures: 320, bias: false });
 * ```
 */
export function linear(ctx: BlockContext, x: string, o: LinearOptions): string {
  const g = ctx.g;
  const shape = g.shape(x);
  const inFeatures = shape[shape.length - 1]!;
  let w = ctx.param("weight", [o.outFeatures, inFeatures]);
  w = g.transpose(w, [1, 0]);
  const y = g.matmul(x, w);
  return o.bias === false ? y : g.add(y, ctx.param("bias", [o.outFeatures]));
}
