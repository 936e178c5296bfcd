/**
 * Rules for neural-network operators: MatMul, Gemm, Einsum, convolutions, pooling,
 * normalizations, softmax and Resize. None of them fold; their inputs are activations.
 *
 * @module
 */
import { DType } from "../types.ts";
import {
  attrInt,
  attrInts,
  attrString,
  broadcast,
  type Ctx,
  fmt,
  one,
  type Rule,
  type RuleOut,
} from "./common.ts";

function matmulRule(c: Ctx): RuleOut {
  const a = c.shape(0);
  const b = c.shape(1);
  if (a.length === 0 || b.length === 0) c.fail("inputs must have rank >= 1");
  // 1-D operands are promoted to matrices ([K] -> [1,K] / [K,1]) and the added dim dropped.
  const A = a.length === 1 ? [1, a[0]!] : a;
  const B = b.length === 1 ? [b[0]!, 1] : b;
  if (A.at(-1) !== B.at(-2)) c.fail(`inner dimensions differ: ${fmt(a)} x ${fmt(b)}`);
  const shape = broadcast(c, [A.slice(0, -2), B.slice(0, -2)]);
  if (a.length > 1) shape.push(A.at(-2)!);
  if (b.length > 1) shape.push(B.at(-1)!);
  return one(c.in(0).dtype, shape);
}

function gemmRule(c: Ctx): RuleOut {
  const a = c.shape(0);
  const b = c.shape(1);
  if (a.length !== 2 || b.length !== 2) c.fail(`A and B must be 2-D, got ${fmt(a)}, ${fmt(b)}`);
  const [m, k] = attrInt(c.node, "transA", 0) ? [a[1]!, a[0]!] : [a[0]!, a[1]!];
  const [k2, n] = attrInt(c.node, "transB", 0) ? [b[1]!, b[0]!] : [b[0]!, b[1]!];
  if (k !== k2) c.fail(`inner dimensions differ: ${fmt(a)} x ${fmt(b)} (transA/transB applied)`);
  if (c.has(2)) {
    const s = broadcast(c, [[m, n], c.shape(2)]);
    if (s[0] !== m || s[1] !== n) c.fail(`C ${fmt(c.shape(2))} does not broadcast to [${m},${n}]`);
  }
  return one(c.in(0).dtype, [m, n]);
}

/** Splits an einsum term into labels, with "..." as one token. */
function einsumTokens(c: Ctx, term: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < term.length;) {
    if (term.startsWith("...", i)) {
      out.push("...");
      i += 3;
    } else if (/[A-Za-z]/.test(term[i]!)) out.push(term[i++]!);
    else c.fail(`bad character '${term[i]}' in equation`);
  }
  return out;
}

function einsumRule(c: Ctx): RuleOut {
  const eq = attrString(c.node, "equation", "").replace(/\s/g, "");
  const [lhs = "", rhs] = eq.split("->");
  const terms = lhs.split(",").map((t) => einsumTokens(c, t));
  if (terms.length !== c.node.inputs.length) c.fail(`equation '${eq}' does not match the inputs`);
  const dims = new Map<string, number>();
  const counts = new Map<string, number>();
  const ells: number[][] = [];
  terms.forEach((tokens, i) => {
    const s = c.shape(i);
    const ellRank = s.length - tokens.filter((t) => t !== "...").length;
    if (ellRank < 0 || (ellRank > 0 && !tokens.includes("..."))) {
      c.fail(`term ${i} of '${eq}' does not match input shape ${fmt(s)}`);
    }
    let p = 0;
    for (const t of tokens) {
      if (t === "...") {
        ells.push(s.slice(p, p + ellRank));
        p += ellRank;
        continue;
      }
      const d = s[p++]!;
      const prev = dims.get(t);
      if (prev !== undefined && prev !== d && prev !== 1 && d !== 1) {
        c.fail(`label '${t}' has sizes ${prev} and ${d} in '${eq}'`);
      }
      dims.set(t, prev === undefined || prev === 1 ? d : prev);
      counts.set(t, (counts.get(t) ?? 0) + 1);
    }
  });
  const ell = broadcast(c, ells);
  // Implicit output: the ellipsis dims, then labels seen once, in alphabetical order.
  const outTokens = rhs !== undefined
    ? einsumTokens(c, rhs)
    : ["...", ...[...counts].filter(([, n]) => n === 1).map(([l]) => l).sort()];
  const shape = outTokens.flatMap((t) => {
    if (t === "...") return ell;
    const d = dims.get(t);
    if (d === undefined) c.fail(`output label '${t}' does not appear in the inputs of '${eq}'`);
    return [d];
  });
  return one(c.in(0).dtype, shape);
}

/** Output spatial sizes of a sliding window (Conv and pooling), per the ONNX formulas. */
function windowOut(c: Ctx, input: number[], kernel: number[], ceilMode: boolean): number[] {
  const sp = input.length;
  if (kernel.length !== sp) c.fail(`kernel ${fmt(kernel)} does not match ${sp} spatial dims`);
  const strides = attrInts(c.node, "strides") ?? new Array<number>(sp).fill(1);
  const dil = attrInts(c.node, "dilations") ?? new Array<number>(sp).fill(1);
  const pads = attrInts(c.node, "pads") ?? new Array<number>(2 * sp).fill(0);
  const autoPad = attrString(c.node, "auto_pad", "NOTSET");
  return input.map((n, i) => {
    const s = strides[i] ?? 1;
    const ek = (kernel[i]! - 1) * (dil[i] ?? 1) + 1; // effective kernel extent
    const [pb, pe] = [pads[i] ?? 0, pads[i + sp] ?? 0];
    let o: number;
    if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") o = Math.ceil(n / s);
    else if (autoPad === "VALID") o = Math.floor((n - ek) / s) + 1;
    else if (autoPad === "NOTSET") {
      const v = (n + pb + pe - ek) / s;
      o = (ceilMode ? Math.ceil(v) : Math.floor(v)) + 1;
      // With ceil_mode a last window starting inside the end padding is dropped.
      if (ceilMode && (o - 1) * s >= n + pb) o--;
    } else c.fail(`unknown auto_pad '${autoPad}'`);
    if (o <= 0) c.fail(`window ${fmt(kernel)} leaves no output for input ${fmt(input)}`);
    return o;
  });
}

function convRule(c: Ctx): RuleOut {
  const x = c.shape(0);
  const w = c.shape(1);
  if (x.length < 3 || w.length !== x.length) c.fail(`bad input ${fmt(x)} / weight ${fmt(w)} ranks`);
  const group = attrInt(c.node, "group", 1);
  const [n, cin, cout, wcin] = [x[0]!, x[1]!, w[0]!, w[1]!];
  if (cin !== wcin * group) {
    c.fail(`input channels ${x[1]} do not match weight ${fmt(w)} with group ${group}`);
  }
  if (c.has(2) && c.shape(2)[0] !== cout) {
    c.fail(`bias ${fmt(c.shape(2))} does not match ${cout} channels`);
  }
  const kernel = attrInts(c.node, "kernel_shape") ?? w.slice(2);
  return one(c.in(0).dtype, [n, cout, ...windowOut(c, x.slice(2), kernel, false)]);
}

function convTransposeRule(c: Ctx): RuleOut {
  const x = c.shape(0);
  const w = c.shape(1);
  if (x.length < 3 || w.length !== x.length) c.fail(`bad input ${fmt(x)} / weight ${fmt(w)} ranks`);
  if (x[1] !== w[0]) c.fail(`input channels ${x[1]} do not match weight ${fmt(w)}`);
  const sp = x.length - 2;
  const n = x[0]!;
  const outC = w[1]! * attrInt(c.node, "group", 1);
  const given = attrInts(c.node, "output_shape");
  if (given) {
    if (given.length !== sp && given.length !== x.length) c.fail(`bad output_shape ${fmt(given)}`);
    return one(c.in(0).dtype, [n, outC, ...given.slice(given.length - sp)]);
  }
  const kernel = attrInts(c.node, "kernel_shape") ?? w.slice(2);
  const strides = attrInts(c.node, "strides") ?? new Array<number>(sp).fill(1);
  const dil = attrInts(c.node, "dilations") ?? new Array<number>(sp).fill(1);
  const outPad = attrInts(c.node, "output_padding") ?? new Array<number>(sp).fill(0);
  const autoPad = attrString(c.node, "auto_pad", "NOTSET");
  const pads = autoPad === "NOTSET"
    ? attrInts(c.node, "pads") ?? new Array<number>(2 * sp).fill(0)
    : new Array<number>(2 * sp).fill(0);
  const spatial = x.slice(2).map((len, i) => {
    const [s, d, k] = [strides[i] ?? 1, dil[i] ?? 1, kernel[i]!];
    if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") return len * s;
    const pad = (pads[i] ?? 0) + (pads[i + sp] ?? 0);
    const o = s * (len - 1) + (outPad[i] ?? 0) + (k - 1) * d + 1 - pad;
    if (o <= 0) c.fail(`output size ${o} on spatial axis ${i}`);
    return o;
  });
  return one(c.in(0).dtype, [n, outC, ...spatial]);
}

function poolRule(c: Ctx): RuleOut {
  const x = c.in(0);
  if (x.shape.length < 3) c.fail(`input ${fmt(x.shape)} must be [N,C,spatial...]`);
  const kernel = attrInts(c.node, "kernel_shape") ?? c.fail("kernel_shape is required");
  const ceil = attrInt(c.node, "ceil_mode", 0) === 1;
  const shape = [...x.shape.slice(0, 2), ...windowOut(c, x.shape.slice(2), kernel, ceil)];
  // MaxPool's optional second output holds flat INT64 indices.
  return { types: [{ dtype: x.dtype, shape }, { dtype: DType.INT64, shape }] };
}

function globalPoolRule(c: Ctx): RuleOut {
  const x = c.in(0);
  if (x.shape.length < 3) c.fail(`input ${fmt(x.shape)} must be [N,C,spatial...]`);
  return one(x.dtype, x.shape.map((d, i) => (i < 2 ? d : 1)));
}

function softmaxRule(c: Ctx): RuleOut {
  const x = c.in(0);
  // The default axis changed from 1 to -1 in opset 13.
  c.axis(attrInt(c.node, "axis", c.opset >= 13 ? -1 : 1), x.shape.length);
  return one(x.dtype, x.shape);
}

function layerNormRule(c: Ctx): RuleOut {
  const x = c.in(0);
  const axis = c.axis(attrInt(c.node, "axis", -1), x.shape.length);
  const stash = attrInt(c.node, "stash_type", DType.FLOAT) as DType;
  const reduced = x.shape.map((d, i) => (i < axis ? d : 1));
  return { types: [x, { dtype: stash, shape: reduced }, { dtype: stash, shape: reduced }] };
}

function channelNormRule(c: Ctx): RuleOut {
  const x = c.in(0);
  if (x.shape.length < 2) c.fail(`input ${fmt(x.shape)} must have a channel axis`);
  const ch = x.shape[1]!;
  const op = c.node.opType;
  // GroupNormalization's scale is per group before opset 21, per channel after; not checked.
  if (op !== "GroupNormalization" && c.has(1) && c.shape(1)[0] !== ch) {
    c.fail(`scale ${fmt(c.shape(1))} does not match ${ch} channels`);
  }
  const stat = { dtype: c.has(1) ? c.in(1).dtype : x.dtype, shape: [ch] };
  // BatchNormalization in training mode also returns running mean and variance.
  return { types: [x, stat, stat, stat, stat] };
}

function resizeRule(c: Ctx): RuleOut {
  const x = c.in(0);
  const r = x.shape.length;
  const axes = c.opset >= 18
    ? (attrInts(c.node, "axes") ?? x.shape.map((_, i) => i)).map((a) => c.axis(a, r))
    : x.shape.map((_, i) => i);
  const shape = [...x.shape];
  // Opset 10 took scales as input 1; from 11 it is roi, scales, sizes (empty when unused).
  const sizes = c.opset >= 11 && c.has(3) ? c.need(3).data : [];
  if (sizes.length > 0) {
    if (sizes.length !== axes.length) {
      c.fail(`sizes ${fmt(sizes)} do not match ${axes.length} axes`);
    }
    const policy = attrString(c.node, "keep_aspect_ratio_policy", "stretch");
    const ratios = axes.map((a, i) => sizes[i]! / x.shape[a]!);
    const pick = policy === "not_larger" ? Math.min(...ratios) : Math.max(...ratios);
    axes.forEach((a, i) => {
      shape[a] = policy === "stretch" ? sizes[i]! : Math.round(pick * x.shape[a]!);
    });
    return one(x.dtype, shape);
  }
  const scalesIn = c.opset >= 11 ? 2 : 1;
  const scales = c.has(scalesIn) ? c.need(scalesIn).data : [];
  if (scales.length === 0) c.fail("neither scales nor sizes is given");
  if (scales.length !== axes.length) {
    c.fail(`scales ${fmt(scales)} do not match ${axes.length} axes`);
  }
  // The runtime multiplies in float32 and truncates.
  axes.forEach((a, i) => shape[a] = Math.floor(Math.fround(x.shape[a]! * scales[i]!)));
  return one(x.dtype, shape);
}

/** Neural-network operator rules. */
export const NN_RULES: Record<string, Rule> = {
  MatMul: matmulRule,
  Gemm: gemmRule,
  Einsum: einsumRule,
  Conv: convRule,
  ConvTranspose: convTransposeRule,
  MaxPool: poolRule,
  AveragePool: poolRule,
  LpPool: poolRule,
  GlobalAveragePool: globalPoolRule,
  GlobalMaxPool: globalPoolRule,
  GlobalLpPool: globalPoolRule,
  Softmax: softmaxRule,
  LogSoftmax: softmaxRule,
  Hardmax: softmaxRule,
  LayerNormalization: layerNormRule,
  InstanceNormalization: channelNormRule,
  BatchNormalization: channelNormRule,
  GroupNormalization: (c) => one(c.in(0).dtype, c.shape(0)),
  LRN: (c) => one(c.in(0).dtype, c.shape(0)),
  Resize: resizeRule,
};
