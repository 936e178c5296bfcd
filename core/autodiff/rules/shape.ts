/**
 * Rules for operators that only rearrange elements: Reshape, Flatten, Squeeze and
 * Unsqueeze (the gradient is dy reshaped to the input's static shape) and Transpose (dy
 * transposed by the inverse permutation). Shape and axes inputs get no gradient.
 * Identity is in elementwise.ts.
 *
 * @module
 */
import type { Vjp } from "../types.ts";

// Reshape, Flatten, Squeeze, Unsqueeze: same elements in the same order.
export const reshapeBack: Vjp = (g, n, dy) => [() => g.reshape(dy, n.inShape(0)), null];

export const transpose: Vjp = (g, n, dy) => {
  const r = n.inShape(0).length;
  const perm = n.attrInts("perm", Array.from({ length: r }, (_, i) => r - 1 - i));
  const inverse = new Array<number>(r);
  perm.forEach((p, i) => (inverse[p] = i));
  return [() => g.transpose(dy, inverse)];
};

/** Operator type → rule, for this family. */
export const SHAPE_RULES: Record<string, Vjp> = {
  Reshape: reshapeBack,
  Flatten: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Transpose: transpose,
};
