import assert from "node:assert/strict";
import { differentiate } from "../../../../core/autodiff/driver.ts";
import { attr } from "../../../../core/onnx/builder.ts";
import { Session } from "../../../../core/onnx/runtime.ts";
import { type Attribute } from "../../../../core/onnx/types.ts";
import { buildCheckModel, checkGradient, type CheckSpec, Rng } from "../../../helpers/gradcheck.ts";

/** Float64 central differences: anything above 1e-6 is a wrong rule, not rounding. */
async function fd(spec: CheckSpec): Promise<void> {
  const { errors, worst } = await checkGradient(spec);
  assert.ok(worst <= 1e-6, `${spec.op}: relative errors ${JSON.stringify(errors)}`);
}

interface Case {
  shape: number[];
  /** undefined: no axes at all (reduce everything, or nothing with noop). */
  axes?: number[];
  keepdims?: number;
  noop?: number;
  /** Axes as an attribute (ReduceMean and the others before opset 18) instead of input 1. */
  asAttr?: boolean;
  range?: [number, number];
}

function reduce(op: string, c: Case): CheckSpec {
  const attrs: Attribute[] = [attr.int("keepdims", c.keepdims ?? 1)];
  if (c.noop !== undefined) attrs.push(attr.int("noop_with_empty_axes", c.noop));
  const x = { name: "x", shape: c.shape, wrt: true, ...(c.range ? { range: c.range } : {}) };
  if (c.axes && c.asAttr) attrs.push(attr.ints("axes", c.axes));
  const inputs = c.axes && !c.asAttr
    ? [x, { name: "axes", shape: [c.axes.length], values: c.axes }]
    : [x];
  return { op, inputs, attrs, opset: c.asAttr ? 17 : 18 };
}

const CASES: [string, Case][] = [
  ["axis 1, keepdims 1", { shape: [2, 3, 4], axes: [1] }],
  ["axes [0,-1], keepdims 0", { shape: [3, 2, 5], axes: [0, -1], keepdims: 0 }],
  ["negative axis, keepdims 0, attribute axes", {
    shape: [3, 5],
    axes: [-2],
    keepdims: 0,
    asAttr: true,
  }],
  ["all axes (none given), keepdims 0", { shape: [2, 3, 3], keepdims: 0 }],
  ["all axes (none given), keepdims 1", { shape: [3, 1, 2] }],
  ["empty axes with noop_with_empty_axes", { shape: [2, 3], noop: 1 }],
];

for (const op of ["ReduceSum", "ReduceMean", "ReduceSumSquare", "ReduceL2", "ReduceL1"]) {
  for (const [what, c] of CASES) {
    // ReduceSum took axes as an input from opset 13; the rest from 18.
    if (op === "ReduceSum" && c.asAttr) continue;
    // |x| bounded away from 0 so that L1's kink is out of the finite-difference stencil.
    const spec = op === "ReduceL1" ? reduce(op, { ...c, range: [0.2, 2] }) : reduce(op, c);
    Deno.test(`${op} vjp matches finite differences (${what})`, () => fd(spec));
  }
}

for (const op of ["ReduceLogSumExp", "ReduceMax", "ReduceMin"]) {
  Deno.test(`${op} vjp matches finite differences (axes [1,-1], keepdims 0)`, () =>
    fd(reduce(op, { shape: [2, 3, 4], axes: [1, -1], keepdims: 0 })));
  Deno.test(`${op} vjp matches finite differences (all axes, keepdims 1)`, () =>
    fd(reduce(op, { shape: [3, 5] })));
}

Deno.test("ReduceL2 vjp is 0, not NaN, where the norm is 0", async () => {
  const spec = reduce("ReduceL2", { shape: [2, 3], axes: [1] });
  const { model, shapes } = buildCheckModel(spec, new Rng(1));
  const { model: out, gradNames } = differentiate(model, { loss: "loss", wrt: ["x"], shapes });
  const s = await Session.create(out);
  const data = Float64Array.from([0, 0, 0, 1, 2, 2]);
  const res = await s.run({ x: { dtype: "float64", dims: [2, 3], data } });
  await s.release();
  const g = [...res[gradNames[0]!]!.data as Float64Array];
  assert.deepEqual(g.slice(0, 3), [0, 0, 0]);
  assert.ok(g.every(Number.isFinite));
});

Deno.test("reduce vjps emit only standard ai.onnx operators", () => {
  const specs = [
    reduce("ReduceMean", { shape: [2, 3, 4], axes: [1], keepdims: 0 }),
    reduce("ReduceMean", { shape: [2, 3, 4], axes: [-1], asAttr: true }),
    reduce("ReduceL2", { shape: [2, 3], axes: [1] }),
    reduce("ReduceMax", { shape: [2, 3], axes: [0] }),
  ];
  for (const spec of specs) {
    const { model, shapes } = buildCheckModel(spec, new Rng(1));
    const { model: out } = differentiate(model, { loss: "loss", wrt: ["x"], shapes });
    for (const node of out.graph.nodes) {
      assert.equal(node.domain, "", `${node.opType} is in domain '${node.domain}'`);
      assert.ok(STANDARD.has(node.opType), `${node.opType} is not an expected ai.onnx operator`);
    }
  }
});

/** ai.onnx operators the reduce rules (and the check harness around them) may emit. */
const STANDARD = new Set([
  "ReduceSum",
  "ReduceMean",
  "ReduceL2",
  "ReduceMax",
  "Reshape",
  "Expand",
  "Mul",
  "Div",
  "Equal",
  "Where",
  "Cast",
  "Sum",
  "Identity",
]);
