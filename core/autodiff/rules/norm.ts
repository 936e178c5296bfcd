/**
 * Softmax, LogSoftmax and the normalisations (LayerNormalization, InstanceNormalization),
 * written with standard operators: the statistics are recomputed from the input.
 * @module
 */
import { type Builder, DType, numel } from "../../onnx/mod.ts";
import type { NodeView, Vjp } from "../types.ts";

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

/**
 * Softmax-family axis: default -1, normalised. Opset 13 semantics (one axis); before 13 the
 * input was flattened to 2-D at `axis`, which agrees only when axis is the last one. The
 * node's own opset is not visible to rules, so such models are not told apart.
 */
const softAxis = (n: NodeView) => n.axis(n.attrInt("axis", -1), n.outShape(0).length);

/**
 * sum(dy y) over the last axis when y's only reader is o = MatMul(y, V) with the same
 * leading shape: then dy = do V^T, and sum_j dy_ij y_ij = sum_d do_id o_id (attention's
 * backward identity), a sum over o's last axis (the head size) instead of y's (the keys).
 */
function rowDotViaMatmul(g: Builder, n: NodeView): string | undefined {
  const mm = n.soleReader(0, "MatMul");
  const ys = n.outShape(0), axis = softAxis(n);
  if (!mm || mm.inputs[0] !== n.out(0) || mm.inputs[1] === n.out(0)) return undefined;
  if (axis !== ys.length - 1 || ys.length < 2) return undefined;
  const o = mm.outputs[0]!, os = g.shape(o), vs = g.shape(mm.inputs[1]!);
  if (vs.length < 2 || os.length !== ys.length) return undefined;
  if (!ys.slice(0, -1).every((d, i) => d === os[i])) return undefined;
  const dO = n.gradOf(o);
  if (!dO || g.dtype(dO) !== g.dtype(o)) return undefined;
  return g.reduceSum(g.mul(dO, o), [axis]);
}

// dx = y (dy - sum(dy y)); see rowDotViaMatmul for attention's cheaper sum.
export const softmax: Vjp = (g, n, dy) => [() => {
  const y = n.out(0);
  const dot = rowDotViaMatmul(g, n) ?? g.reduceSum(g.mul(dy, y), [softAxis(n)]);
  return g.mul(y, g.sub(dy, dot));
}];

// dx = dy - softmax(x) sum(dy), with softmax(x) = exp(y).
export const logSoftmax: Vjp = (g, n, dy) => [
  () => g.sub(dy, g.mul(g.exp(n.out(0)), g.reduceSum(dy, [softAxis(n)]))),
];

/** Normalised input and reciprocal standard deviation over `axes` (biased variance). */
export interface NormStats {
  xhat: string;
  rstd: string;
}

/**
 * xhat = (x - mean) / sqrt(var + eps) over `axes`, kept for the backward maths.
 * @example
 * ```ts ignore
 * const s = normStats(g, "x", [2, 3], 1e-5); // per (n, c) of an NCHW tensor
 * ```
 */
export function normStats(g: Builder, x: string, axes: number[], eps: number): NormStats {
  const xc = g.sub(x, g.reduceMean(x, axes));
  const rstd = g.reciprocal(g.sqrt(g.add(g.reduceMean(g.mul(xc, xc), axes), eps)));
  return { xhat: g.mul(xc, rstd), rstd };
}

/**
 * The statistics of node `n` normalising input 0 over the trailing `axes`: read from its own
 * Mean and InvStdDev outputs when it has them (a LayerNormalization with scale 1 and no bias
 * already outputs xhat); in float32 one LayerNormalization recomputes them; else
 * {@link normStats}.
 */
function statsOf(g: Builder, n: NodeView, axes: number[], eps: number): NormStats {
  const x = n.in(0), f32 = g.dtype(x) === DType.FLOAT;
  const [y, mean, rstd] = n.node.outputs;
  if (n.node.opType === "LayerNormalization" && mean && rstd && g.dtype(rstd) === g.dtype(x)) {
    const unit = n.value(1)?.every((v) => v === 1) && !n.in(2);
    return { xhat: unit ? y! : g.mul(g.sub(x, mean), rstd), rstd };
  }
  if (!f32) return normStats(g, x, axes, eps);
  const shape = g.shape(x).slice(axes[0]);
  const ones = g.constant(DType.FLOAT, shape, new Array<number>(numel(shape)).fill(1));
  const [xhat, , r] = g.op("LayerNormalization", [x, ones], [
    { name: "axis", type: "int", i: axes[0]! },
    { name: "epsilon", type: "float", f: eps },
  ], 3);
  return { xhat: xhat!, rstd: r! };
}

/**
 * The input gradient of xhat = normalise(x) given d loss / d xhat (`gh`):
 * dx = rstd (gh - mean(gh) - xhat mean(gh xhat)), means over `axes`.
 * @example
 * ```ts ignore
 * const dx = normBackward(g, g.mul(dy, scale), normStats(g, x, axes, eps), axes);
 * ```
 */
export function normBackward(g: Builder, gh: string, s: NormStats, axes: number[]): string {
  const centred = g.sub(gh, g.reduceMean(gh, axes));
  return g.mul(s.rstd, g.sub(centred, g.mul(s.xhat, g.reduceMean(g.mul(gh, s.xhat), axes))));
}

/** Memoises a builder step shared by several gradient thunks. */
function once<T>(f: () => T): () => T {
  let v: T | undefined;
  return () => (v ??= f());
}

/**
 * dx terms from gradients reaching LayerNormalization's optional Mean and InvStdDev outputs:
 * d mean/dx = 1 / count, d rstd/dx = -rstd^2 xhat / count.
 */
function viaStats(g: Builder, n: NodeView, s: NormStats, count: number): string[] {
  const d = (i: number) => g.cast(n.dy(i), g.dtype(n.in(0)));
  const terms: string[] = [];
  if (n.hasDy(1)) terms.push(g.div(d(1), count));
  if (n.hasDy(2)) {
    terms.push(g.div(g.mul(d(2), g.mul(g.mul(s.rstd, s.rstd), s.xhat)), -count));
  }
  return terms;
}

// Y = xhat Scale + B over axes >= axis. Scale and B align with the trailing axes, so the
// driver's un-broadcast sums their gradients over the leading ones.
export const layerNorm: Vjp = (g, n, dy) => {
  const rank = n.inShape(0).length;
  const axes = range(n.axis(n.attrInt("axis", -1), rank), rank);
  const s = once(() => statsOf(g, n, axes, n.attrFloat("epsilon", 1e-5)));
  const count = numel(axes.map((a) => n.inShape(0)[a]!));
  const unitScale = n.value(1)?.every((v) => v === 1);
  const gh = () => (unitScale ? dy : g.mul(dy, n.in(1)));
  return [
    () => g.sum([normBackward(g, gh(), s(), axes), ...viaStats(g, n, s(), count)]),
    () => g.mul(dy, s().xhat),
    n.in(2) ? () => dy : null,
  ];
};

// Per (n, c) over the spatial axes; scale and B are [C], so their gradients are summed over
// N and the spatial axes here (the driver's right-aligned un-broadcast would not fit).
export const instanceNorm: Vjp = (g, n, dy) => {
  const shape = n.inShape(0), axes = range(2, shape.length);
  const s = once(() => statsOf(g, n, axes, n.attrFloat("epsilon", 1e-5)));
  const perChannel = (v: string) => g.reshape(v, [shape[1]!, ...axes.map(() => 1)]);
  const unitScale = n.value(1)?.every((v) => v === 1);
  return [
    () => normBackward(g, unitScale ? dy : g.mul(dy, perChannel(n.in(1))), s(), axes),
    () => g.reduceSum(g.mul(dy, s().xhat), [0, ...axes], false),
    () => g.reduceSum(dy, [0, ...axes], false),
  ];
};

/** Operator type → rule, for this family. */
export const NORM_RULES: Record<string, Vjp> = {
  Softmax: softmax,
  LogSoftmax: logSoftmax,
  LayerNormalization: layerNorm,
  InstanceNormalization: instanceNorm,
};
