/**
 * Elementwise operators. Broadcasting is undone by the driver, so each rule returns the
 * gradient in the output's shape.
 * @module
 */
import type { Vjp } from "../types.ts";

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

export const add: Vjp = (_g, _n, dy) => [() => dy, () => dy];
export const sub: Vjp = (g, _n, dy) => [() => dy, () => g.neg(dy)];
export const mul: Vjp = (g, n, dy) => [() => g.mul(dy, n.in(1)), () => g.mul(dy, n.in(0))];
export const div: Vjp = (g, n, dy) => [
  () => g.div(dy, n.in(1)),
  () => g.neg(g.div(g.mul(dy, n.out(0)), n.in(1))),
];
export const neg: Vjp = (g, _n, dy) => [() => g.neg(dy)];
// d a^b/da = b a^(b-1); d a^b/db = a^b ln a (only taken when the exponent needs it).
export const pow: Vjp = (g, n, dy) => [
  () => g.mul(dy, g.mul(n.in(1), g.pow(n.in(0), g.sub(n.in(1), 1)))),
  () => g.mul(dy, g.mul(n.out(0), g.log(n.in(0)))),
];
// At y = 0 the derivative is infinite; like PyTorch's std backward we define it as 0, so
// a zero upstream (or zero std row) never turns into 0 * inf = NaN.
export const sqrt: Vjp = (g, n, dy) => [() => g.divOrZero(dy, g.mul(2, n.out(0)))];
export const reciprocal: Vjp = (g, n, dy) => [() => g.neg(g.mul(dy, g.mul(n.out(0), n.out(0))))];
export const exp: Vjp = (g, n, dy) => [() => g.mul(dy, n.out(0))];
export const log: Vjp = (g, n, dy) => [() => g.div(dy, n.in(0))];
export const erf: Vjp = (g, n, dy) => [
  () => g.mul(dy, g.mul(TWO_OVER_SQRT_PI, g.exp(g.neg(g.mul(n.in(0), n.in(0)))))),
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
