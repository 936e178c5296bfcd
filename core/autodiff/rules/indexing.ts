/**
 * Rules for operators that select, place or repeat elements: Gather, Slice, Pad, Concat,
 * Split, Expand and Tile. Each gradient puts `dy` back where the forward pass took it
 * from: ScatterND with reduction add for index lists (so duplicates accumulate), Pad or
 * Slice for contiguous ranges, Split and Concat for each other, ReduceSum for repeats.
 * Index inputs, shapes and axes get no gradient (null).
 *
 * @module
 */
import { type Builder, DType } from "../../onnx/mod.ts";
import type { NodeView, Vjp } from "../types.ts";
import { AutodiffError } from "../autodiff_error.ts";

const range = (from: number, to: number): number[] =>
  Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);

/** A thunk that builds its value once, for gradients shared by several inputs. */
function once<T>(f: () => T): () => T {
  let v: T | undefined;
  return () => (v ??= f());
}

/** Transpose, or `x` itself when `perm` is the identity. */
function permute(g: Builder, x: string, perm: number[]): string {
  return perm.every((p, i) => p === i) ? x : g.transpose(x, perm);
}

/**
 * The adjoint of taking `idx` (int64, any shape, values in [0, size)) along `axis`:
 * `dy`, whose index dims sit at `axis`, scatter-added into zeros with `size` at `axis`.
 */
function scatterAxis(g: Builder, dy: string, axis: number, idx: string, size: number): string {
  const ys = g.shape(dy), q = g.shape(idx).length, rank = ys.length - q + 1;
  const moved = permute(g, dy, [
    ...range(axis, axis + q),
    ...range(0, axis),
    ...range(axis + q, ys.length),
  ]);
  const zeros = g.zeros([size, ...ys.slice(0, axis), ...ys.slice(axis + q)], g.dtype(dy));
  const out = g.scatterNDAdd(zeros, g.reshape(idx, [...g.shape(idx), 1]), moved);
  return permute(g, out, [...range(1, axis + 1), 0, ...range(axis + 1, rank)]);
}

/** Gather indices as int64 in [0, dim): negative ones wrapped, statically when known. */
function wrapIndices(g: Builder, n: NodeView, dim: number): string {
  const known = n.value(1);
  if (known) return g.constant(DType.INT64, n.inShape(1), known.map((i) => (i < 0 ? i + dim : i)));
  const idx = g.dtype(n.in(1)) === DType.INT64 ? n.in(1) : g.cast(n.in(1), DType.INT64);
  return g.where(g.less(idx, 0), g.add(idx, dim), idx);
}

export const gather: Vjp = (g, n, dy) => {
  const shape = n.inShape(0), axis = n.axis(n.attrInt("axis", 0), shape.length);
  return [() => scatterAxis(g, dy, axis, wrapIndices(g, n, shape[axis]!), shape[axis]!), null];
};

/** One sliced axis: the elements start + j*step for j < count. */
interface AxisRange {
  axis: number;
  start: number;
  step: number;
  count: number;
}

/** The ranges a Slice node takes, negative indices resolved and clamped as ONNX specifies. */
function sliceRanges(n: NodeView, shape: number[]): AxisRange[] {
  const attrForm = n.node.inputs.length === 1; // opset < 10: attributes
  const starts = attrForm ? n.attrInts("starts", []) : n.staticValue(1, "starts");
  const ends = attrForm ? n.attrInts("ends", []) : n.staticValue(2, "ends");
  const axes = (attrForm ? n.attrInts("axes", range(0, starts.length)) : n.value(3)) ??
    range(0, starts.length);
  const steps = n.value(4) ?? starts.map(() => 1);
  return axes.map((a, i) => {
    const axis = n.axis(a, shape.length), dim = shape[axis]!, step = steps[i]!;
    const at = (v: number, lo: number, hi: number) =>
      Math.min(Math.max(v < 0 ? v + dim : v, lo), hi);
    const start = at(starts[i]!, 0, step > 0 ? dim : dim - 1);
    const end = at(ends[i]!, step > 0 ? 0 : -1, step > 0 ? dim : dim - 1);
    return { axis, start, step, count: Math.max(0, Math.ceil((end - start) / step)) };
  });
}

/** The adjoint of a slice: zero padding for unit steps, a scatter along other axes. */
function unslice(g: Builder, dy: string, shape: number[], ranges: AxisRange[]): string {
  const r = shape.length, pads = new Array<number>(2 * r).fill(0);
  let grad = dy;
  for (const { axis, start, step, count } of ranges) {
    const dim = shape[axis]!;
    const idx = range(0, count).map((j) => start + j * step);
    if (step === 1) [pads[axis], pads[axis + r]] = [start, dim - start - count];
    else grad = scatterAxis(g, grad, axis, g.ints(idx), dim);
  }
  return pads.some((p) => p !== 0) ? g.pad(grad, pads) : grad;
}

export const slice: Vjp = (g, n, dy) => {
  const shape = n.inShape(0);
  return [() => unslice(g, dy, shape, sliceRanges(n, shape)), null, null, null, null];
};

/** A Pad node's pads over all axes, [begin..., end...]. */
function padAmounts(n: NodeView, r: number): number[] {
  const given = n.in(1) ? n.staticValue(1, "pads") : n.attrInts("pads", []);
  const axes = (n.value(3) ?? range(0, r)).map((a) => n.axis(a, r));
  const pads = new Array<number>(2 * r).fill(0);
  axes.forEach((a, i) => [pads[a], pads[a + r]] = [given[i]!, given[i + axes.length]!]);
  return pads;
}

// Constant mode: dx is dy without the border (a Slice; a Pad with negated pads where the
// forward pass cropped); the pad value receives everything outside.
export const pad: Vjp = (g, n, dy) => {
  const mode = n.attrString("mode", "constant");
  if (mode !== "constant") {
    throw new AutodiffError(
      "unsupported",
      `autodiff: Pad node '${n.node.name}': unsupported mode=${mode} (only constant)`,
    );
  }
  const shape = n.inShape(0), r = shape.length, p = padAmounts(n, r);
  const dx = once(() =>
    p.some((v) => v < 0)
      ? g.pad(dy, p.map((v) => -v))
      : g.slice(dy, p.slice(0, r), shape.map((d, i) => p[i]! + d), range(0, r))
  );
  const total = (x: string) => g.reduceSum(x, range(0, g.shape(x).length), false);
  return [dx, null, () => g.sub(total(dy), total(dx())), null];
};

export const concat: Vjp = (g, n, dy) => {
  const axis = n.axis(n.attrInt("axis", 0), n.outShape(0).length);
  const parts = once(() => g.split(dy, n.node.inputs.map((_, i) => n.inShape(i)[axis]!), axis));
  return n.node.inputs.map((_, i) => () => parts()[i]!);
};

export const split: Vjp = (g, n) => {
  const axis = n.axis(n.attrInt("axis", 0), n.inShape(0).length);
  return [() => g.concat(n.node.outputs.map((_, i) => n.dy(i)), axis), null];
};

// The driver un-broadcasts dy to the input's shape.
export const expand: Vjp = (_g, _n, dy) => [() => dy, null];

// y = x repeated reps[a] times along each axis: view dy as [reps0, d0, reps1, d1, ...].
export const tile: Vjp = (g, n, dy) => {
  const shape = n.inShape(0), reps = n.staticValue(1, "repeats");
  const split = shape.flatMap((d, a) => [reps[a]!, d]);
  const axes = shape.map((_, a) => 2 * a).filter((_, a) => reps[a] !== 1);
  return [() => g.reshape(g.reduceSum(g.reshape(dy, split), axes, false), shape), null];
};

/** Operator type → rule, for this family. */
export const INDEXING_RULES: Record<string, Vjp> = {
  Gather: gather,
  Slice: slice,
  Pad: pad,
  Concat: concat,
  Split: split,
  Expand: expand,
  Tile: tile,
};
