/**
 * Rules for elementwise operators: unary maps, numpy-broadcasting binary and variadic ops,
 * comparisons (BOOL output), Where, Clip, Cast and CastLike.
 *
 * @module
 */
import { DType, type Node } from "../types.ts";
import {
  attrFloat,
  attrInt,
  broadcast,
  type Ctx,
  dtypeName,
  isInt,
  mapBroadcast,
  one,
  type Rule,
  type RuleOut,
} from "./common.ts";

type Unary = (x: number, node: Node) => number;

/** Round half to even, as ONNX Round specifies. */
function roundEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

// Unary ops whose output has the input's type. `undefined` means "shape only, no folding"
// (e.g. Erf: an approximation would not match the runtime bit for bit).
const UNARY: Record<string, Unary | undefined> = {
  Identity: (x) => x,
  Neg: (x) => -x,
  Abs: Math.abs,
  Sign: Math.sign,
  Sqrt: Math.sqrt,
  Reciprocal: (x) => 1 / x,
  Exp: Math.exp,
  Log: Math.log,
  Tanh: Math.tanh,
  Sigmoid: sigmoid,
  Sin: Math.sin,
  Cos: Math.cos,
  Tan: Math.tan,
  Asin: Math.asin,
  Acos: Math.acos,
  Atan: Math.atan,
  Sinh: Math.sinh,
  Cosh: Math.cosh,
  Relu: (x) => Math.max(x, 0),
  LeakyRelu: (x, n) => (x >= 0 ? x : attrFloat(n, "alpha", 0.01) * x),
  Elu: (x, n) => (x >= 0 ? x : attrFloat(n, "alpha", 1) * (Math.exp(x) - 1)),
  Softplus: (x) => Math.log1p(Math.exp(x)),
  Softsign: (x) => x / (1 + Math.abs(x)),
  HardSigmoid: (x, n) =>
    Math.max(0, Math.min(1, attrFloat(n, "alpha", 0.2) * x + attrFloat(n, "beta", 0.5))),
  HardSwish: (x) => x * Math.max(0, Math.min(1, x / 6 + 0.5)),
  Floor: Math.floor,
  Ceil: Math.ceil,
  Round: roundEven,
  Erf: undefined,
  Gelu: undefined,
  Mish: undefined,
  Selu: undefined,
  Celu: undefined,
};

function unaryRule(f: Unary | undefined): Rule {
  return (c) => {
    const x = c.in(0);
    return one(x.dtype, x.shape, f && (() => c.data(0).map((v) => f(v, c.node))));
  };
}

/** Unary ops with BOOL output. */
const boolUnary = (f: (x: number, node: Node) => boolean): Rule => (c) =>
  one(DType.BOOL, c.shape(0), () => c.data(0).map((v) => (f(v, c.node) ? 1 : 0)));

function isInf(x: number, n: Node): boolean {
  if (x === Infinity) return attrInt(n, "detect_positive", 1) === 1;
  if (x === -Infinity) return attrInt(n, "detect_negative", 1) === 1;
  return false;
}

function sameDtypes(c: Ctx, indices: number[]): void {
  const ds = indices.filter((i) => c.has(i)).map((i) => c.in(i).dtype);
  if (ds.some((d) => d !== ds[0])) {
    c.fail(`input dtypes differ: ${ds.map(dtypeName).join(", ")}`);
  }
}

/** Broadcasting rule over all present inputs; `out` picks the output dtype. */
function nary(
  f: ((xs: number[], c: Ctx, dtype: DType) => number) | undefined,
  out: (c: Ctx) => DType,
  check = true,
): Rule {
  return (c) => {
    const idx = c.node.inputs.map((_, i) => i).filter((i) => c.has(i));
    if (idx.length === 0) c.fail("needs at least one input");
    if (check) sameDtypes(c, idx);
    const shape = broadcast(c, idx.map((i) => c.shape(i)));
    const inDtype = c.in(0).dtype;
    const fold = f &&
      (() => mapBroadcast(shape, idx.map((i) => c.val(i)!), (xs) => f(xs, c, inDtype)));
    return one(out(c), shape, fold);
  };
}

const first = (c: Ctx) => c.in(0).dtype;
/** Adapts a two-argument function to the n-ary form. */
const two = (f: (a: number, b: number) => number) => (xs: number[]) => f(xs[0]!, xs[1]!);
const bool = () => DType.BOOL;

function divide(xs: number[], c: Ctx, d: DType): number {
  const a = xs[0]!, b = xs[1]!;
  if (!isInt(d)) return a / b;
  if (b === 0) c.fail("integer division by zero while folding");
  return Math.trunc(a / b);
}

function mod(xs: number[], c: Ctx, d: DType): number {
  const a = xs[0]!, b = xs[1]!;
  if (isInt(d) && b === 0) c.fail("integer modulo by zero while folding");
  if (attrInt(c.node, "fmod", 0) === 1 || !isInt(d)) return a % b;
  // Integer Mod without fmod takes the sign of the divisor, like Python.
  const r = a % b;
  return r !== 0 && (r < 0) !== (b < 0) ? r + b : r;
}

function pow(xs: number[], _c: Ctx, d: DType): number {
  const p = Math.pow(xs[0]!, xs[1]!);
  return isInt(d) ? Math.trunc(p) : p;
}

function whereRule(c: Ctx): RuleOut {
  if (c.in(0).dtype !== DType.BOOL) c.fail("condition must be BOOL");
  sameDtypes(c, [1, 2]);
  const shape = broadcast(c, [c.shape(0), c.shape(1), c.shape(2)]);
  return one(
    c.in(1).dtype,
    shape,
    () => mapBroadcast(shape, [0, 1, 2].map((i) => c.val(i)!), (xs) => (xs[0] ? xs[1]! : xs[2]!)),
  );
}

function clipRule(c: Ctx): RuleOut {
  const x = c.in(0);
  // Opset 11 moved min/max from attributes to optional inputs.
  const lo = c.opset >= 11 ? c.val(1)?.data[0] ?? -Infinity : attrFloat(c.node, "min", -Infinity);
  const hi = c.opset >= 11 ? c.val(2)?.data[0] ?? Infinity : attrFloat(c.node, "max", Infinity);
  return one(x.dtype, x.shape, () => c.data(0).map((v) => Math.min(hi, Math.max(lo, v))));
}

function castRule(c: Ctx): RuleOut {
  const to = attrInt(c.node, "to", 0) as DType;
  if (DType[to] === undefined) c.fail(`unsupported or missing 'to' attribute (${to})`);
  if (to === DType.STRING || c.in(0).dtype === DType.STRING) c.fail("string casts unsupported");
  // Rounding into the target dtype happens when the folded value is stored.
  return one(to, c.shape(0), () => c.data(0));
}

function castLikeRule(c: Ctx): RuleOut {
  return one(c.in(1).dtype, c.shape(0), () => c.data(0));
}

function dropoutRule(c: Ctx): RuleOut {
  const x = c.in(0);
  // Inference mode: the data passes through and the mask is all true.
  return {
    types: [x, { dtype: DType.BOOL, shape: x.shape }],
    fold: () => [c.data(0), c.data(0).map(() => 1)],
  };
}

const unaryRules: Record<string, Rule> = {};
for (const [op, f] of Object.entries(UNARY)) unaryRules[op] = unaryRule(f);

/** Elementwise operator rules. */
export const ELEMENTWISE_RULES: Record<string, Rule> = {
  ...unaryRules,
  Not: boolUnary((x) => x === 0),
  IsNaN: boolUnary((x) => Number.isNaN(x)),
  IsInf: boolUnary(isInf),
  Add: nary(two((a, b) => a + b), first),
  Sub: nary(two((a, b) => a - b), first),
  Mul: nary(two((a, b) => a * b), first),
  Div: nary(divide, first),
  Mod: nary(mod, first),
  Pow: nary(pow, first, false),
  PRelu: nary(two((x, s) => (x >= 0 ? x : x * s)), first),
  Max: nary((xs) => Math.max(...xs), first),
  Min: nary((xs) => Math.min(...xs), first),
  Sum: nary((xs) => xs.reduce((a, b) => a + b, 0), first),
  Mean: nary((xs) => xs.reduce((a, b) => a + b, 0) / xs.length, first),
  Equal: nary(two((a, b) => (a === b ? 1 : 0)), bool),
  Less: nary(two((a, b) => (a < b ? 1 : 0)), bool),
  Greater: nary(two((a, b) => (a > b ? 1 : 0)), bool),
  LessOrEqual: nary(two((a, b) => (a <= b ? 1 : 0)), bool),
  GreaterOrEqual: nary(two((a, b) => (a >= b ? 1 : 0)), bool),
  And: nary(two((a, b) => (a && b ? 1 : 0)), bool),
  Or: nary(two((a, b) => (a || b ? 1 : 0)), bool),
  Xor: nary(two((a, b) => ((a !== 0) !== (b !== 0) ? 1 : 0)), bool),
  Where: whereRule,
  Clip: clipRule,
  Cast: castRule,
  CastLike: castLikeRule,
  Dropout: dropoutRule,
};
