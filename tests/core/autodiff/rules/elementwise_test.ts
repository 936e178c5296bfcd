import assert from "node:assert/strict";
import { differentiate } from "../../../../core/autodiff/driver.ts";
import { startGraph } from "../../../../core/onnx/compose.ts";
import { Session } from "../../../../core/onnx/runtime.ts";
import { DType } from "../../../../core/onnx/types.ts";
import type { Builder } from "../../../../core/onnx/builder.ts";
import { checkGradient, type InputSpec } from "../../../helpers/gradcheck.ts";
import { emittedFor, finiteDifferences, gradient, lossGraph, relErr } from "../_graph_fd.ts";

// float64 central differences with h = 1e-6: truncation ~1e-12, rounding ~1e-10.
const FD_TOL = 1e-6;

async function fd(op: string, inputs: InputSpec[]) {
  const r = await checkGradient({ op, inputs });
  assert.ok(r.worst <= FD_TOL, `${op}: ${JSON.stringify(r.errors)}`);
}

const a = (shape: number[], range?: [number, number]): InputSpec => ({
  name: "a",
  shape,
  wrt: true,
  ...(range ? { range } : {}),
});
const b = (shape: number[], range?: [number, number]): InputSpec => ({
  name: "b",
  shape,
  wrt: true,
  ...(range ? { range } : {}),
});

for (const op of ["Add", "Sub", "Mul"]) {
  Deno.test(`${op} vjp matches finite differences with broadcasting`, async () => {
    await fd(op, [a([2, 3, 4]), b([3, 1])]);
    await fd(op, [a([1, 3]), b([2, 1, 3])]);
    await fd(op, [a([]), b([2, 3])]);
  });
}

Deno.test("Div vjp matches finite differences with broadcasting (divisor away from 0)", async () => {
  await fd("Div", [a([2, 3]), b([3], [0.5, 2])]);
  await fd("Div", [a([3]), b([2, 3], [-2, -0.5])]);
});

Deno.test("Pow vjp matches finite differences for base and exponent", async () => {
  await fd("Pow", [a([2, 3], [0.5, 2]), b([3], [-1.5, 2])]);
  await fd("Pow", [a([2, 3], [0.5, 2]), {
    name: "b",
    shape: [],
    values: [2],
    dtype: DType.DOUBLE,
  }]);
});

const unary: [string, [number, number] | undefined][] = [
  ["Neg", undefined],
  ["Sqrt", [0.2, 3]],
  ["Reciprocal", [0.5, 2]],
  ["Exp", undefined],
  ["Log", [0.2, 3]],
  ["Tanh", undefined],
  ["Sigmoid", undefined],
  ["Sin", undefined],
  ["Cos", undefined],
  ["Abs", undefined],
  ["Relu", undefined],
  ["Identity", undefined],
];
for (const [op, range] of unary) {
  Deno.test(`${op} vjp matches finite differences (odd shape [3,5])`, async () => {
    await fd(op, [a([3, 5], range)]);
  });
}

Deno.test("Erf vjp matches finite differences in float32 (ORT CPU has no float64 Erf)", async () => {
  // float32 with h = 1e-2: truncation ~h^2/6 * max|erf'''| ~ 2e-5, rounding ~eps*|loss|/h ~ 1e-5;
  // a wrong rule (e.g. missing the 2/sqrt(pi)) is off by more than 10%.
  const r = await checkGradient({ op: "Erf", inputs: [a([3, 5])], dtype: DType.FLOAT });
  assert.ok(r.worst <= 1e-3, JSON.stringify(r.errors));
});

Deno.test("Sum vjp matches finite differences (three broadcast inputs)", async () => {
  await fd("Sum", [a([2, 3]), b([3]), { name: "c", shape: [2, 1], wrt: true }]);
});

Deno.test("Where vjp routes the gradient by the condition", async () => {
  await fd("Where", [
    { name: "c", shape: [2, 3], values: [1, 0, 1, 0, 0, 1], dtype: DType.BOOL },
    a([2, 3]),
    b([3]),
  ]);
});

Deno.test("Cast vjp between float types casts the gradient back", async () => {
  const { g, finish } = startGraph([{ name: "x", dtype: DType.DOUBLE, shape: [4] }]);
  const y = g.cast("x", DType.FLOAT);
  g.name(g.reduceSum(g.mul(y, y), [0], false), "loss");
  const { model } = differentiate(finish(["loss"]), { loss: "loss", wrt: ["x"] });
  const s = await Session.create(model);
  const r = await s.run({
    x: { dtype: "float64", dims: [4], data: Float64Array.from([1, -2, 3, 0.5]) },
  });
  assert.equal(r.grad_x!.dtype, "float64");
  assert.deepEqual(Array.from(r.grad_x!.data as Float64Array), [2, -4, 6, 1]);
});

Deno.test("Sqrt vjp is 0 (not NaN) where the output is 0, like PyTorch's std backward", async () => {
  // sigma = sqrt(mean((c - mean c)^2)) over identical rows is exactly 0.
  const { g, finish } = startGraph([{ name: "x", dtype: DType.FLOAT, shape: [3, 2] }]);
  const dev = g.sub("x", g.reduceMean("x", [0], true));
  const sigma = g.sqrt(g.reduceMean(g.mul(dev, dev), [0], false));
  g.name(g.reduceSum(sigma, [0], false), "loss");
  const { model } = differentiate(finish(["loss"]), { loss: "loss", wrt: ["x"] });
  const s = await Session.create(model);
  // Column 0 identical across rows (sigma 0), column 1 varies.
  const r = await s.run({
    x: { dtype: "float32", dims: [3, 2], data: Float32Array.from([1, 0, 1, 1, 1, 2]) },
  });
  const grad = Array.from(r.grad_x!.data as Float32Array);
  assert.ok(grad.every(Number.isFinite), `grad ${grad}`);
  assert.deepEqual([grad[0], grad[2], grad[4]], [0, 0, 0]);
  const sd = Math.sqrt(2 / 3);
  [-1, 0, 1].forEach((d, i) => assert.ok(Math.abs(grad[2 * i + 1]! - d / (3 * sd)) < 1e-6));
});

Deno.test("Abs vjp at 0 is 0 (the subgradient PyTorch uses)", async () => {
  const { g, finish } = startGraph([{ name: "x", dtype: DType.FLOAT, shape: [3] }]);
  g.name(g.reduceSum(g.abs("x"), [0], false), "loss");
  const { model } = differentiate(finish(["loss"]), { loss: "loss", wrt: ["x"] });
  const s = await Session.create(model);
  const r = await s.run({
    x: { dtype: "float32", dims: [3], data: Float32Array.from([-2, 0, 3]) },
  });
  assert.deepEqual(Array.from(r.grad_x!.data as Float32Array), [-1, 0, 1]);
});

Deno.test("Pow vjp with a constant exponent 1 or 2 emits no Pow", async () => {
  for (const e of [1, 2]) {
    const model = lossGraph([2, 3], DType.DOUBLE, (g, x) => g.pow(x, e));
    const x = [0.5, -1, 2, 1.5, -0.25, 3];
    const { grad, model: diff } = await gradient(model, x);
    assert.deepEqual(emittedFor(diff, "Pow").filter((op) => op === "Pow"), []);
    assert.ok(relErr(grad, await finiteDifferences(model, x)) <= FD_TOL);
  }
});

Deno.test("SiLU pattern: Mul(x, Sigmoid(x)) differentiated in one rule, Sigmoid skipped", async () => {
  const x = [0.5, -1, 2, 1.5, -0.25, 3, 0, -4];
  for (const order of ["x*s", "s*x"]) {
    const model = lossGraph([2, 4], DType.DOUBLE, (g, v) => {
      const s = g.sigmoid(v);
      return order === "x*s" ? g.mul(v, s) : g.mul(s, v);
    });
    const { grad, model: diff } = await gradient(model, x);
    assert.deepEqual(emittedFor(diff, "Sigmoid"), []);
    // One Mul for the loss's weighting, then dy (s + y (1 - s)) in four nodes.
    assert.deepEqual(emittedFor(diff, "Mul"), ["Mul", "Mul", "Sub", "Add", "Mul"]);
    assert.ok(relErr(grad, await finiteDifferences(model, x)) <= FD_TOL, order);
  }
});

Deno.test("SiLU pattern does not apply when the Sigmoid is read elsewhere", async () => {
  const x = [0.5, -1, 2, 1.5, -0.25, 3];
  const model = lossGraph([2, 3], DType.DOUBLE, (g, v) => {
    const s = g.sigmoid(v);
    return g.add(g.mul(v, s), s);
  });
  const { grad, model: diff } = await gradient(model, x);
  assert.ok(emittedFor(diff, "Sigmoid").length > 0);
  assert.ok(relErr(grad, await finiteDifferences(model, x)) <= FD_TOL);
});

Deno.test("GELU pattern: x·½(1 + erf(x/√2)) in both exported forms, one rule, matches FD", async () => {
  const x = [0.5, -1, 2, 1.5, -0.25, 3, 0, -4];
  const forms: Record<string, (g: Builder, v: string) => string> = {
    // model blocks: x · ((erf(x·√½) + 1) · ½)
    blocks: (g, v) => g.mul(v, g.mul(g.add(g.erf(g.mul(v, Math.SQRT1_2)), 1), 0.5)),
    // torch export: (x · (1 + erf(x / √2))) · ½
    torch: (g, v) => g.mul(g.mul(v, g.add(1, g.erf(g.div(v, Math.SQRT2)))), 0.5),
    // a negative slope: x · (1 − erf(2x))
    negative: (g, v) => g.mul(v, g.sub(1, g.erf(g.mul(v, 2)))),
  };
  for (const [name, body] of Object.entries(forms)) {
    const model = lossGraph([2, 4], DType.FLOAT, body);
    const { grad, model: diff } = await gradient(model, x);
    assert.deepEqual(emittedFor(diff, "Erf"), [], name);
    // float32 against the float64 graph (ORT CPU has no float64 Erf): rounding only.
    const ref = lossGraph([2, 4], DType.FLOAT, body);
    const fdv = await finiteDifferences(ref, x, 1e-2);
    assert.ok(relErr(grad, fdv) <= 1e-3, `${name}: ${relErr(grad, fdv)}`);
  }
});
