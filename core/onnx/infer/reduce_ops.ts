/**
 * Rules for reductions (ReduceSum, ReduceMean, ...) and ArgMax/ArgMin.
 *
 * @module
 */
import { DType, numel } from "../types.ts";
import {
  attrInt,
  attrInts,
  type Ctx,
  dot,
  mapIndex,
  one,
  type Rule,
  type RuleOut,
  strides,
} from "./common.ts";

type Reducer = (xs: number[]) => number;

const sum: Reducer = (xs) => xs.reduce((a, b) => a + b, 0);
const sumSq: Reducer = (xs) => xs.reduce((a, b) => a + b * b, 0);

// Each reduction, the opset where its axes moved from an attribute to input 1, and how it
// folds (undefined: shape only).
const REDUCTIONS: Record<string, [number, Reducer | undefined]> = {
  ReduceSum: [13, sum],
  ReduceMean: [18, (xs) => sum(xs) / xs.length],
  ReduceMax: [18, (xs) => Math.max(...xs)],
  ReduceMin: [18, (xs) => Math.min(...xs)],
  ReduceProd: [18, (xs) => xs.reduce((a, b) => a * b, 1)],
  ReduceSumSquare: [18, sumSq],
  ReduceL1: [18, (xs) => xs.reduce((a, b) => a + Math.abs(b), 0)],
  ReduceL2: [18, (xs) => Math.sqrt(sumSq(xs))],
  ReduceLogSum: [18, (xs) => Math.log(sum(xs))],
  ReduceLogSumExp: [18, (xs) => Math.log(xs.reduce((a, b) => a + Math.exp(b), 0))],
};

function reduceRule(since: number, f: Reducer | undefined): Rule {
  return (c: Ctx): RuleOut => {
    const x = c.in(0);
    const r = x.shape.length;
    const fromInput = c.opset >= since;
    let axes = fromInput ? (c.has(1) ? c.need(1).data : []) : attrInts(c.node, "axes", []);
    if (axes.length === 0) {
      // noop_with_empty_axes exists only in the input form; otherwise empty means "all".
      if (fromInput && attrInt(c.node, "noop_with_empty_axes", 0) === 1) {
        return one(x.dtype, x.shape, () => c.data(0));
      }
      axes = x.shape.map((_, i) => i);
    }
    const set = new Set(axes.map((a) => c.axis(a, r)));
    const kept = x.shape.map((d, i) => (set.has(i) ? 1 : d));
    const keepdims = attrInt(c.node, "keepdims", 1) === 1;
    const shape = keepdims ? kept : x.shape.filter((_, i) => !set.has(i));
    const fold = f && (() => {
      const d = c.data(0);
      // Reduced axes get stride 0 so every element lands in its output's group.
      const os = strides(kept).map((s, k) => (set.has(k) ? 0 : s));
      const groups: number[][] = Array.from({ length: numel(kept) }, () => []);
      let i = 0;
      mapIndex(x.shape, (pos) => {
        return groups[dot(pos, os)]!.push(d[i++]!);
      });
      return groups.map(f);
    });
    return one(x.dtype, shape, fold);
  };
}

function argRule(c: Ctx): RuleOut {
  const x = c.in(0);
  const axis = c.axis(attrInt(c.node, "axis", 0), x.shape.length);
  const shape = attrInt(c.node, "keepdims", 1) === 1
    ? x.shape.map((d, i) => (i === axis ? 1 : d))
    : x.shape.filter((_, i) => i !== axis);
  return one(DType.INT64, shape);
}

const reduceRules: Record<string, Rule> = {};
for (const [op, [since, f]] of Object.entries(REDUCTIONS)) reduceRules[op] = reduceRule(since, f);

/** Reduction rules. */
export const REDUCE_RULES: Record<string, Rule> = {
  ...reduceRules,
  ArgMax: argRule,
  ArgMin: argRule,
};
