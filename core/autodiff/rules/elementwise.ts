/**
 * Elementwise operators. Broadcasting is undone by the driver, so each rule returns the
 * gradient in the output's shape.
 * @module
 */
import { ABSORBED, type Grad, type NodeView, type Vjp } from "../types.ts";
import type { Builder, Node } from "../../onnx/mod.ts";

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const LN_TWO_OVER_SQRT_PI = Math.log(TWO_OVER_SQRT_PI);

export const add: Vjp = (_g, _n, dy) => [() => dy, () => dy];
export const sub: Vjp = (g, _n, dy) => [() => dy, () => g.neg(dy)];
export const mul: Vjp = (g, n, dy) =>
  silu(g, n, dy) ?? erfGate(g, n, dy) ?? [() => g.mul(dy, n.in(1)), () => g.mul(dy, n.in(0))];

// Pattern rule: y = x Sigmoid(x) (SiLU) with the Sigmoid read only here. dx = dy (s + y (1 - s))
// in 4 passes, reusing y, instead of 6 through Mul, Sigmoid and the sum of both paths.
function silu(g: Builder, n: NodeView, dy: string): Grad[] | null {
  for (const k of [0, 1]) {
    const s = n.privateProducer(k, "Sigmoid");
    if (!s || s.inputs[0] !== n.in(1 - k)) continue;
    const [sig, y] = [n.in(k), n.out(0)];
    const dx = () => g.mul(dy, g.add(sig, g.sub(y, g.mul(y, sig))));
    return k === 1 ? [dx, ABSORBED] : [ABSORBED, dx];
  }
  return null;
}
export const div: Vjp = (g, n, dy) => [
  () => g.div(dy, n.in(1)),
  () => g.neg(g.div(g.mul(dy, n.out(0)), n.in(1))),
];
export const neg: Vjp = (g, _n, dy) => [() => g.neg(dy)];
// d a^b/da = b a^(b-1); d a^b/db = a^b ln a (only taken when the exponent needs it).
// A constant exponent 1 or 2 needs no Pow (ONNX Runtime's Pow is slow).
export const pow: Vjp = (g, n, dy) => [
  () => {
    const b = n.value(1)?.length === 1 ? n.value(1)![0] : undefined;
    if (b === 1) return dy;
    if (b === 2) return g.mul(dy, g.add(n.in(0), n.in(0)));
    return g.mul(dy, g.mul(n.in(1), g.pow(n.in(0), g.sub(n.in(1), 1))));
  },
  () => g.mul(dy, g.mul(n.out(0), g.log(n.in(0)))),
];
// At y = 0 the derivative is infinite; like PyTorch's std backward we define it as 0, so
// a zero upstream (or zero std row) never turns into 0 * inf = NaN.
export const sqrt: Vjp = (g, n, dy) => [() => g.divOrZero(dy, g.mul(2, n.out(0)))];
export const reciprocal: Vjp = (g, n, dy) => [() => g.neg(g.mul(dy, g.mul(n.out(0), n.out(0))))];
export const exp: Vjp = (g, n, dy) => [() => g.mul(dy, n.out(0))];
export const log: Vjp = (g, n, dy) => [() => g.div(dy, n.in(0))];
// 2/sqrt(pi) exp(-x^2) as exp(ln(2/sqrt(pi)) - x^2): one pass fewer.
export const erf: Vjp = (g, n, dy) => [
  () => g.mul(dy, g.exp(g.sub(LN_TWO_OVER_SQRT_PI, g.mul(n.in(0), n.in(0))))),
];
export const tanh: Vjp = (g, n, dy) => [() => g.mul(dy, g.sub(1, g.mul(n.out(0), n.out(0))))];
export const sigmoid: Vjp = (g, n, dy) => [() => g.mul(dy, g.mul(n.out(0), g.sub(1, n.out(0))))];
export const sin: Vjp = (g, n, dy) => [() => g.mul(dy, g.cos(n.in(0)))];
export const cos: Vjp = (g, n, dy) => [() => g.neg(g.mul(dy, g.sin(n.in(0))))];
// Sign(0) = 0: the subgradient PyTorch uses for abs at 0.
export const abs: Vjp = (g, n, dy) => [() => g.mul(dy, g.sign(n.in(0)))];
export const relu: Vjp = (g, n, dy) => [() => g.where(g.greater(n.in(0), 0), dy, 0)];
export const identity: Vjp = (_g, _n, dy) => [() => dy];
export const sum: Vjp = (_g, n, dy) => n.node.inputs.map(() => () => dy);
// Cast between float types: cast the gradient back; integer casts never reach here.
export const cast: Vjp = (g, n, dy) => [() => g.cast(dy, g.dtype(n.in(0)))];
export const where: Vjp = (g, n, dy) => [
  null,
  () => g.where(n.in(0), dy, 0),
  () => g.where(n.in(0), 0, dy),
];

/** The value of a scalar constant. */
function scalar(g: Builder, name: string): number | undefined {
  const v = g.table.value(name);
  return v?.data.length === 1 ? v.data[0] : undefined;
}

/** y = f(v) with one scalar-constant operand: the other operand and f's slope. */
function affineStep(g: Builder, m: Node): { v: string; slope: number } | null {
  const [a = "", b = ""] = m.inputs;
  const [ca, cb] = [scalar(g, a), scalar(g, b)];
  if (m.inputs.length !== 2 || (ca === undefined) === (cb === undefined)) return null;
  const v = ca === undefined ? a : b, c = (ca ?? cb)!;
  if (m.opType === "Add") return { v, slope: 1 };
  if (m.opType === "Sub") return { v, slope: v === a ? 1 : -1 };
  if (m.opType === "Mul") return { v, slope: c };
  if (m.opType === "Div" && v === a) return { v, slope: 1 / c };
  return null;
}

// Pattern rule: y = x h with h = p erf(k x) + q built by scalar Add/Sub/Mul/Div (exact GELU,
// as exporters and the model blocks write it), h's chain read only here. dx = dy (h + x p k
// 2/sqrt(pi) exp(-(k x)^2)): 6 passes reusing h and k x, instead of about 10 through the rules.
function erfGate(g: Builder, n: NodeView, dy: string): Grad[] | null {
  for (const j of [0, 1]) {
    const x = n.in(1 - j), h = n.in(j);
    let p = 1, m = n.privateProducerOf(h);
    while (m && m.opType !== "Erf") {
      const step = affineStep(g, m);
      if (!step) break;
      p *= step.slope;
      m = n.privateProducerOf(step.v);
    }
    const z = m?.opType === "Erf" ? m.inputs[0]! : "";
    const scale = z ? n.privateProducerOf(z) : undefined;
    const k = scale ? affineStep(g, scale) : null;
    if (!k || k.v !== x || (scale!.opType !== "Mul" && scale!.opType !== "Div")) continue;
    const c = p * k.slope * TWO_OVER_SQRT_PI;
    const e = () => g.exp(g.sub(Math.log(Math.abs(c)), g.mul(z, z)));
    const dx = () => g.mul(dy, (c > 0 ? g.add : g.sub).call(g, h, g.mul(x, e())));
    return j === 1 ? [dx, ABSORBED] : [ABSORBED, dx];
  }
  return null;
}
