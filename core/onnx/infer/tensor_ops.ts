/**
 * Rules for operators that move data without arithmetic: Constant, Shape, Size, Gather and
 * friends, Unsqueeze/Squeeze, Concat, Split, Slice, Reshape and Flatten. These are the ops
 * of the exporters' Shape -> Gather -> Unsqueeze -> Concat subgraphs, so all of them fold.
 *
 * @module
 */
import { DType, numel } from "../types.ts";
import {
  attrAny,
  attrInt,
  attrInts,
  attrTensor,
  type Ctx,
  dot,
  dtypeName,
  fmt,
  mapIndex,
  one,
  type Rule,
  type RuleOut,
  strides,
  tensorToConst,
} from "./common.ts";

function constantRule(c: Ctx): RuleOut {
  const t = attrTensor(c.node, "value");
  if (t) {
    const types = [{ dtype: t.dtype, shape: [...t.dims] }];
    // External data cannot be folded here; the type alone is still exact.
    return t.data ? { types, fold: () => [tensorToConst(t).data] } : { types };
  }
  const a = attrAny(c.node, "value_float") ?? attrAny(c.node, "value_floats") ??
    attrAny(c.node, "value_int") ?? attrAny(c.node, "value_ints");
  switch (a?.type) {
    case "float":
      return one(DType.FLOAT, [], () => [a.f]);
    case "floats":
      return one(DType.FLOAT, [a.floats.length], () => a.floats);
    case "int":
      return one(DType.INT64, [], () => [a.i]);
    case "ints":
      return one(DType.INT64, [a.ints.length], () => a.ints);
  }
  return c.fail("no supported value attribute (value, value_float(s), value_int(s))");
}

function shapeRule(c: Ctx): RuleOut {
  const s = c.shape(0);
  const r = s.length;
  // Opset 15 added start/end, clamped like Python slicing.
  const clamp = (v: number) => Math.min(r, Math.max(0, v < 0 ? v + r : v));
  const start = clamp(attrInt(c.node, "start", 0));
  const end = clamp(attrInt(c.node, "end", r));
  const dims = s.slice(start, Math.max(start, end));
  const shape = [dims.length];
  return {
    types: [{ dtype: DType.INT64, shape }],
    values: [{ dtype: DType.INT64, shape, data: dims }],
  };
}

function sizeRule(c: Ctx): RuleOut {
  const n = numel(c.shape(0));
  return {
    types: [{ dtype: DType.INT64, shape: [] }],
    values: [{ dtype: DType.INT64, shape: [], data: [n] }],
  };
}

function checkIndices(c: Ctx, i: number): void {
  const d = c.in(i).dtype;
  if (d !== DType.INT64 && d !== DType.INT32) {
    c.fail(`indices must be INT32/INT64, got ${dtypeName(d)}`);
  }
}

function gatherRule(c: Ctx): RuleOut {
  const data = c.in(0);
  const ind = c.shape(1);
  checkIndices(c, 1);
  const axis = c.axis(attrInt(c.node, "axis", 0), data.shape.length);
  const dim = data.shape[axis]!;
  const shape = [...data.shape.slice(0, axis), ...ind, ...data.shape.slice(axis + 1)];
  return one(data.dtype, shape, () => {
    const src = c.data(0);
    const idx = c.data(1).map((k) => {
      if (k < -dim || k >= dim) c.fail(`index ${k} is out of range for dimension ${dim}`);
      return k < 0 ? k + dim : k;
    });
    const outer = numel(data.shape.slice(0, axis));
    const inner = numel(data.shape.slice(axis + 1));
    const res: number[] = [];
    for (let o = 0; o < outer; o++) {
      for (const k of idx) {
        const base = (o * dim + k) * inner;
        for (let j = 0; j < inner; j++) res.push(src[base + j]!);
      }
    }
    return res;
  });
}

function gatherElementsRule(c: Ctx): RuleOut {
  checkIndices(c, 1);
  if (c.shape(0).length !== c.shape(1).length) c.fail("data and indices ranks differ");
  return one(c.in(0).dtype, c.shape(1));
}

function gatherNDRule(c: Ctx): RuleOut {
  checkIndices(c, 1);
  const data = c.shape(0);
  const ind = c.shape(1);
  const b = attrInt(c.node, "batch_dims", 0);
  const k = ind.at(-1) ?? c.fail("indices must have rank >= 1");
  if (b + k > data.length) c.fail(`index depth ${k} exceeds data rank ${data.length}`);
  return one(c.in(0).dtype, [...ind.slice(0, -1), ...data.slice(b + k)]);
}

/** Scatter ops and others whose output has exactly the first input's type. */
const likeInput0: Rule = (c) => one(c.in(0).dtype, c.shape(0));

/** Axes from the attribute (before `since`) or from optional input 1 (from `since`). */
function axesArg(c: Ctx, since: number): number[] | undefined {
  if (c.opset >= since) return c.has(1) ? c.need(1).data : undefined;
  return attrInts(c.node, "axes");
}

function unsqueezeRule(c: Ctx): RuleOut {
  const x = c.in(0);
  const axes = axesArg(c, 13) ?? c.fail("axes are required");
  const rank = x.shape.length + axes.length;
  const norm = axes.map((a) => c.axis(a, rank));
  if (new Set(norm).size !== norm.length) c.fail(`repeated axes ${fmt(axes)}`);
  let j = 0;
  const shape = Array.from({ length: rank }, (_, i) => (norm.includes(i) ? 1 : x.shape[j++]!));
  return one(x.dtype, shape, () => c.data(0));
}

function squeezeRule(c: Ctx): RuleOut {
  const x = c.in(0);
  const axes = axesArg(c, 13);
  const r = x.shape.length;
  let keep: (d: number, i: number) => boolean;
  if (!axes || axes.length === 0) {
    keep = (d) => d !== 1;
  } else {
    const norm = axes.map((a) => c.axis(a, r));
    for (const a of norm) {
      if (x.shape[a] !== 1) c.fail(`cannot squeeze axis ${a} of ${fmt(x.shape)}`);
    }
    keep = (_, i) => !norm.includes(i);
  }
  return one(x.dtype, x.shape.filter(keep), () => c.data(0));
}

function concatRule(c: Ctx): RuleOut {
  const idx = c.node.inputs.map((_, i) => i).filter((i) => c.has(i));
  if (idx.length === 0) c.fail("needs at least one input");
  const first = c.in(idx[0]!);
  const r = first.shape.length;
  const axis = c.axis(attrInt(c.node, "axis", 0), r);
  const shape = [...first.shape];
  shape[axis] = 0;
  for (const i of idx) {
    const t = c.in(i);
    if (t.dtype !== first.dtype) {
      c.fail(`input dtypes differ: ${dtypeName(first.dtype)}, ${dtypeName(t.dtype)}`);
    }
    const bad = t.shape.length !== r || t.shape.some((d, k) => k !== axis && d !== first.shape[k]);
    if (bad) {
      c.fail(`cannot concatenate ${idx.map((j) => fmt(c.shape(j))).join(", ")} on axis ${axis}`);
    }
    shape[axis] = shape[axis]! + t.shape[axis]!;
  }
  return one(first.dtype, shape, () => {
    const outer = numel(shape.slice(0, axis));
    const inner = numel(shape.slice(axis + 1));
    const res: number[] = [];
    for (let o = 0; o < outer; o++) {
      for (const i of idx) {
        const block = c.shape(i)[axis]! * inner;
        const d = c.data(i);
        for (let j = 0; j < block; j++) res.push(d[o * block + j]!);
      }
    }
    return res;
  });
}

/** Elements `[start, start+len)` along `axis` of a row-major array. */
function sliceAxis(
  data: number[],
  shape: number[],
  axis: number,
  start: number,
  len: number,
): number[] {
  const outer = numel(shape.slice(0, axis));
  const inner = numel(shape.slice(axis + 1));
  const res: number[] = [];
  for (let o = 0; o < outer; o++) {
    const base = (o * shape[axis]! + start) * inner;
    for (let j = 0; j < len * inner; j++) res.push(data[base + j]!);
  }
  return res;
}

function splitRule(c: Ctx): RuleOut {
  const x = c.in(0);
  const axis = c.axis(attrInt(c.node, "axis", 0), x.shape.length);
  const dim = x.shape[axis]!;
  const n = c.node.outputs.length;
  let sizes = c.opset >= 13 ? (c.has(1) ? c.need(1).data : undefined) : attrInts(c.node, "split");
  if (sizes) {
    if (sizes.length !== n) c.fail(`split has ${sizes.length} entries for ${n} outputs`);
  } else if (c.opset >= 18 && attrAny(c.node, "num_outputs")) {
    // num_outputs (opset 18): equal chunks of ceil(dim/n), the last one smaller.
    const chunk = Math.ceil(dim / attrInt(c.node, "num_outputs", n));
    sizes = Array.from({ length: n }, (_, i) => Math.max(0, Math.min(chunk, dim - i * chunk)));
  } else {
    if (dim % n !== 0) c.fail(`dimension ${dim} cannot be split evenly into ${n} outputs`);
    sizes = new Array<number>(n).fill(dim / n);
  }
  if (sizes.reduce((a, b) => a + b, 0) !== dim) {
    c.fail(`split sizes ${fmt(sizes)} do not sum to ${dim}`);
  }
  const shapes = sizes.map((s) => x.shape.map((d, k) => (k === axis ? s : d)));
  const parts = sizes;
  const starts = parts.map((_, i) => parts.slice(0, i).reduce((a, b) => a + b, 0));
  return {
    types: shapes.map((shape) => ({ dtype: x.dtype, shape })),
    fold: () => parts.map((s, i) => sliceAxis(c.data(0), x.shape, axis, starts[i]!, s)),
  };
}

function sliceRule(c: Ctx): RuleOut {
  const x = c.in(0);
  const r = x.shape.length;
  const old = c.opset < 10; // before opset 10, starts/ends/axes were attributes
  const starts = old ? attrInts(c.node, "starts", []) : c.need(1).data;
  const ends = old ? attrInts(c.node, "ends", []) : c.need(2).data;
  const axes = (old ? attrInts(c.node, "axes") : c.has(3) ? c.need(3).data : undefined) ??
    starts.map((_, i) => i);
  const steps = (!old && c.has(4) ? c.need(4).data : undefined) ?? starts.map(() => 1);
  if (
    ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length
  ) {
    c.fail("starts, ends, axes and steps have different lengths");
  }
  const shape = [...x.shape];
  const begin = new Array<number>(r).fill(0);
  const step = new Array<number>(r).fill(1);
  const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
  for (let i = 0; i < starts.length; i++) {
    const a = c.axis(axes[i]!, r);
    const dim = x.shape[a]!;
    const st = steps[i]!;
    if (st === 0) c.fail("step 0");
    let s = starts[i]!;
    let e = ends[i]!;
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    // Spec clamping: [0, dim] going forward, [0, dim-1] / [-1, dim-1] going backward.
    [s, e] = st > 0
      ? [clamp(s, 0, dim), clamp(e, 0, dim)]
      : [clamp(s, 0, dim - 1), clamp(e, -1, dim - 1)];
    shape[a] = Math.max(0, Math.ceil((e - s) / st));
    begin[a] = s;
    step[a] = st;
  }
  const inStr = strides(x.shape);
  const offset = dot(begin, inStr);
  const stepStr = step.map((s, k) => s * inStr[k]!);
  return one(x.dtype, shape, () => {
    const d = c.data(0);
    return mapIndex(shape, (pos) => d[offset + dot(pos, stepStr)]!);
  });
}

function reshapeRule(c: Ctx): RuleOut {
  const x = c.in(0);
  const target = c.need(1).data;
  const allowZero = attrInt(c.node, "allowzero", 0) === 1;
  const shape = target.map((d, i) => {
    if (d !== 0 || allowZero) return d;
    return x.shape[i] ?? c.fail(`0 at position ${i} has no input dimension to copy`);
  });
  const total = numel(x.shape);
  const minus = shape.filter((d) => d === -1).length;
  if (minus > 1 || shape.some((d) => d < -1)) c.fail(`invalid target shape ${fmt(target)}`);
  if (minus === 1) {
    const known = numel(shape.filter((d) => d !== -1));
    if (known === 0 || total % known !== 0) {
      c.fail(`cannot reshape ${fmt(x.shape)} to ${fmt(target)}`);
    }
    shape[shape.indexOf(-1)] = total / known;
  }
  if (numel(shape) !== total) {
    c.fail(`cannot reshape ${fmt(x.shape)} (${total} elements) to ${fmt(target)} -> ${fmt(shape)}`);
  }
  return one(x.dtype, shape, () => c.data(0));
}

function flattenRule(c: Ctx): RuleOut {
  const x = c.in(0);
  const r = x.shape.length;
  let axis = attrInt(c.node, "axis", 1);
  if (axis < -r || axis > r) c.fail(`axis ${axis} is out of range for rank ${r}`);
  if (axis < 0) axis += r;
  return one(x.dtype, [numel(x.shape.slice(0, axis)), numel(x.shape.slice(axis))], () => c.data(0));
}

function nonZeroRule(c: Ctx): RuleOut {
  const v = c.val(0);
  if (!v) {
    c.fail("NonZero's output shape depends on the input data, so it cannot be inferred statically");
  }
  // A known input (rare) still folds: indices of nonzero elements, one row per axis.
  const nz: number[][] = [];
  let i = 0;
  mapIndex(v.shape, (pos) => (v.data[i++] !== 0 ? nz.push([...pos]) : 0));
  const shape = [v.shape.length, nz.length];
  return one(DType.INT64, shape, () => v.shape.flatMap((_, d) => nz.map((p) => p[d]!)));
}

/** Data-movement operator rules. */
export const TENSOR_RULES: Record<string, Rule> = {
  Constant: constantRule,
  Shape: shapeRule,
  Size: sizeRule,
  Gather: gatherRule,
  GatherElements: gatherElementsRule,
  GatherND: gatherNDRule,
  ScatterND: likeInput0,
  ScatterElements: likeInput0,
  Scatter: likeInput0,
  CumSum: likeInput0,
  Unsqueeze: unsqueezeRule,
  Squeeze: squeezeRule,
  Concat: concatRule,
  Split: splitRule,
  Slice: sliceRule,
  Reshape: reshapeRule,
  Flatten: flattenRule,
  NonZero: nonZeroRule,
};
