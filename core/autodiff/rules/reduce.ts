/**
 * Reductions. The upstream gradient is reshaped to the keepdims shape, where it broadcasts
 * against the input, and expanded where the rule needs the full shape.
 * @module
 */
import { type Builder, numel } from "../../onnx/mod.ts";
import type { NodeView, Vjp } from "../types.ts";

/**
 * The reduced axes, non-negative and sorted, from input 1 or the `axes` attribute; no axes
 * means all of them, or none (an identity) with noop_with_empty_axes.
 * @example
 * ```ts ignore
 * const axes = reducedAxes(n); // ReduceSum(x [2,3,4], axes=[-1]) -> [2]
 * ```
 */
export function reducedAxes(n: NodeView): number[] {
  const rank = n.inShape(0).length;
  const axes = n.in(1) ? n.staticValue(1, "axes") : n.attrInts("axes", []);
  if (axes.length === 0) {
    return n.attrInt("noop_with_empty_axes", 0) === 1
      ? []
      : Array.from({ length: rank }, (_, i) => i);
  }
  return axes.map((a) => n.axis(a, rank)).sort((a, b) => a - b);
}

/** Reshapes an output-shaped value (dy or y) to the keepdims shape, 1 on reduced axes. */
function kept(g: Builder, n: NodeView, v: string, axes: number[]): string {
  return g.reshape(v, n.inShape(0).map((d, i) => (axes.includes(i) ? 1 : d)));
}

/** dy broadcast back to the input shape. */
function spread(g: Builder, n: NodeView, dy: string, axes: number[]): string {
  return g.expand(kept(g, n, dy, axes), n.inShape(0));
}

export const reduceSum: Vjp = (g, n, dy) => [() => spread(g, n, dy, reducedAxes(n))];

export const reduceMean: Vjp = (g, n, dy) => [() => {
  const axes = reducedAxes(n);
  return g.div(spread(g, n, dy, axes), numel(axes.map((a) => n.inShape(0)[a]!)));
}];

export const reduceSumSquare: Vjp = (g, n, dy) => [
  () => g.mul(g.mul(kept(g, n, dy, reducedAxes(n)), 2), n.in(0)),
];

// d ||x|| / dx = x / ||x||, taken as 0 for a zero norm (PyTorch's norm backward).
export const reduceL2: Vjp = (g, n, dy) => [() => {
  const axes = reducedAxes(n);
  return g.divOrZero(g.mul(n.in(0), kept(g, n, dy, axes)), kept(g, n, n.out(0), axes));
}];

// Sign(0) = 0, as for Abs.
export const reduceL1: Vjp = (g, n, dy) => [
  () => g.mul(g.sign(n.in(0)), kept(g, n, dy, reducedAxes(n))),
];

export const reduceLogSumExp: Vjp = (g, n, dy) => [() => {
  const axes = reducedAxes(n);
  return g.mul(kept(g, n, dy, axes), g.exp(g.sub(n.in(0), kept(g, n, n.out(0), axes))));
}];

// Max and Min: the gradient is shared evenly between tied extremes (PyTorch's amax/amin).
export const reduceExtreme: Vjp = (g, n, dy) => [() => {
  const axes = reducedAxes(n);
  const x = n.in(0);
  const hit = g.cast(g.equal(x, kept(g, n, n.out(0), axes)), g.dtype(x));
  return g.mul(hit, g.div(kept(g, n, dy, axes), g.reduceSum(hit, axes)));
}];

/** Operator type → rule, for this family. */
export const REDUCE_RULES: Record<string, Vjp> = {
  ReduceSum: reduceSum,
  ReduceMean: reduceMean,
  ReduceSumSquare: reduceSumSquare,
  ReduceL2: reduceL2,
  ReduceL1: reduceL1,
  ReduceLogSumExp: reduceLogSumExp,
  ReduceMax: reduceExtreme,
  ReduceMin: reduceExtreme,
};
