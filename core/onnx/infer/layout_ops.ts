/**
 * Rules for operators whose output shape comes from a run-time value or a permutation:
 * ConstantOfShape, Transpose, Expand, Tile, Range, Trilu and Pad. All of them fold.
 *
 * @module
 */
import { DType, numel } from "../types.ts";
import {
  attrInt,
  attrInts,
  attrString,
  attrTensor,
  broadcast,
  broadcastIndex,
  type Ctx,
  dot,
  fmt,
  mapIndex,
  one,
  roundTo,
  type Rule,
  type RuleOut,
  strides,
  tensorToConst,
} from "./common.ts";

/** A shape given as a value; negative or fractional dims are errors. */
function shapeValue(c: Ctx, i: number): number[] {
  const s = c.need(i).data;
  if (s.some((d) => d < 0 || !Number.isInteger(d))) c.fail(`invalid shape ${fmt(s)}`);
  return s;
}

function constantOfShapeRule(c: Ctx): RuleOut {
  const shape = shapeValue(c, 0);
  const t = attrTensor(c.node, "value");
  const v = t ? tensorToConst(t) : { dtype: DType.FLOAT, data: [0] };
  const fill = v.data[0];
  if (v.data.length !== 1 || fill === undefined) c.fail("'value' must hold one element");
  return one(v.dtype, shape, () => new Array<number>(numel(shape)).fill(fill));
}

function transposeRule(c: Ctx): RuleOut {
  const x = c.in(0);
  const r = x.shape.length;
  const perm = attrInts(c.node, "perm") ?? x.shape.map((_, i) => r - 1 - i);
  const sorted = [...perm].sort((a, b) => a - b);
  if (perm.length !== r || sorted.some((p, i) => p !== i)) {
    c.fail(`perm ${fmt(perm)} is not a permutation of rank ${r}`);
  }
  const shape = perm.map((p) => x.shape[p]!);
  // Stride of the input axis that each output axis reads.
  const inStr = strides(x.shape);
  const permStr = perm.map((p) => inStr[p]!);
  return one(x.dtype, shape, () => {
    const d = c.data(0);
    return mapIndex(shape, (pos) => d[dot(pos, permStr)]!);
  });
}

function expandRule(c: Ctx): RuleOut {
  const x = c.in(0);
  // Expand broadcasts both ways: a 1 in the target keeps the input's dim.
  const shape = broadcast(c, [x.shape, shapeValue(c, 1)]);
  return one(x.dtype, shape, () => {
    const d = c.data(0);
    return Array.from(broadcastIndex(shape, x.shape), (k) => d[k]!);
  });
}

function tileRule(c: Ctx): RuleOut {
  const x = c.in(0);
  const reps = shapeValue(c, 1);
  if (reps.length !== x.shape.length) {
    c.fail(`repeats ${fmt(reps)} do not match rank ${x.shape.length}`);
  }
  const shape = x.shape.map((d, i) => d * reps[i]!);
  const inStr = strides(x.shape);
  return one(x.dtype, shape, () => {
    const d = c.data(0);
    return mapIndex(shape, (pos) => d[dot(pos.map((p, k) => p % x.shape[k]!), inStr)]!);
  });
}

function rangeRule(c: Ctx): RuleOut {
  const scalar = (i: number): number => {
    const v = c.need(i).data;
    if (v.length !== 1) c.fail(`input ${i} must be a scalar`);
    return v[0]!;
  };
  const [start, limit, delta] = [scalar(0), scalar(1), scalar(2)];
  if (delta === 0) c.fail("delta is 0");
  const dtype = c.in(0).dtype;
  const n = Math.max(Math.ceil(roundTo(dtype, limit - start) / delta), 0);
  return one(dtype, [n], () => {
    // Accumulate in the dtype, as ONNX Runtime does, so float values match it bit for bit.
    const out: number[] = [];
    for (let i = 0, v = start; i < n; i++, v = roundTo(dtype, v + delta)) out.push(v);
    return out;
  });
}

function triluRule(c: Ctx): RuleOut {
  const x = c.in(0);
  const r = x.shape.length;
  if (r < 2) c.fail("input must have rank >= 2");
  const upper = attrInt(c.node, "upper", 1) === 1;
  return one(x.dtype, x.shape, () => {
    const k = c.has(1) ? c.data(1)[0]! : 0;
    const d = c.data(0);
    let i = 0;
    return mapIndex(x.shape, (pos) => {
      const diag = pos[r - 1]! - pos[r - 2]!;
      const v = d[i++]!;
      return (upper ? diag >= k : diag <= k) ? v : 0;
    });
  });
}

function padRule(c: Ctx): RuleOut {
  const x = c.in(0);
  const r = x.shape.length;
  // Opset 11 moved pads (and the constant) to inputs; opset 18 added optional axes.
  const pads = c.opset >= 11 ? c.need(1).data : attrInts(c.node, "pads", []);
  const axes = c.opset >= 18 && c.has(3)
    ? c.need(3).data.map((a) => c.axis(a, r))
    : x.shape.map((_, i) => i);
  const n = axes.length;
  if (pads.length !== 2 * n) c.fail(`pads ${fmt(pads)} need ${2 * n} entries`);
  const before = new Array<number>(r).fill(0);
  const shape = [...x.shape];
  axes.forEach((a, i) => {
    const [b, e] = [pads[i]!, pads[i + n]!];
    before[a] = b;
    shape[a] = x.shape[a]! + b + e;
    if (shape[a] < 0) c.fail(`pads ${fmt(pads)} make axis ${a} of ${fmt(x.shape)} negative`);
  });
  const mode = attrString(c.node, "mode", "constant");
  if (!["constant", "reflect", "edge", "wrap"].includes(mode)) c.fail(`unknown mode '${mode}'`);
  const inStr = strides(x.shape);
  return one(x.dtype, shape, () => {
    const d = c.data(0);
    const fill = c.opset >= 11 ? (c.val(2)?.data[0] ?? 0) : 0;
    return mapIndex(shape, (pos) => {
      let f = 0;
      for (let k = 0; k < r; k++) {
        const dim = x.shape[k]!;
        let p = pos[k]! - before[k]!;
        if (p < 0 || p >= dim) {
          if (mode === "constant") return fill;
          if (mode === "edge") p = Math.min(dim - 1, Math.max(0, p));
          else if (mode === "wrap") p = ((p % dim) + dim) % dim;
          else {
            const period = 2 * (dim - 1) || 1;
            p = ((p % period) + period) % period;
            if (p >= dim) p = period - p;
          }
        }
        f += p * inStr[k]!;
      }
      return d[f]!;
    });
  });
}

/** Rules for shape-from-value and layout operators. */
export const LAYOUT_RULES: Record<string, Rule> = {
  ConstantOfShape: constantOfShapeRule,
  Transpose: transposeRule,
  Expand: expandRule,
  Tile: tileRule,
  Range: rangeRule,
  Trilu: triluRule,
  Pad: padRule,
};
