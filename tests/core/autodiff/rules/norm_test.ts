import assert from "node:assert/strict";
import { differentiate } from "../../../../core/autodiff/driver.ts";
import { attr } from "../../../../core/onnx/builder.ts";
import { DType } from "../../../../core/onnx/types.ts";
import { buildCheckModel, checkGradient, type CheckSpec, Rng } from "../../../helpers/gradcheck.ts";
import type { Builder } from "../../../../core/onnx/builder.ts";
import { Session } from "../../../../core/onnx/runtime.ts";
import { emittedFor, finiteDifferences, gradient, lossGraph, relErr } from "../_graph_fd.ts";

/** Float64 central differences: anything above 1e-6 is a wrong rule, not rounding. */
async function fd(spec: CheckSpec, tol = 1e-6): Promise<void> {
  const { errors, worst } = await checkGradient(spec);
  assert.ok(worst <= tol, `${spec.op}: relative errors ${JSON.stringify(errors)}`);
}

// Where ONNX Runtime's CPU provider has no double kernel ("Could not find an implementation":
// InstanceNormalization; LayerNormalization with double Mean/InvStdDev), checks run in float32
// with the harness's float step h = 1e-2: O(h^2) truncation plus ~1e-7 |loss| / h rounding put
// the relative error near 1e-4 (measured 4e-5 to 7e-5); a wrong rule gives O(1).
const F32_TOL = 1e-3;

const soft = (op: string, shape: number[], axis?: number): CheckSpec => ({
  op,
  inputs: [{ name: "x", shape, wrt: true }],
  attrs: axis === undefined ? [] : [attr.int("axis", axis)],
});

for (const op of ["Softmax", "LogSoftmax"]) {
  Deno.test(`${op} vjp matches finite differences (axis -1, 3-D)`, () =>
    fd(soft(op, [2, 3, 5], -1)));
  Deno.test(`${op} vjp matches finite differences (axis 1, 3-D)`, () => fd(soft(op, [2, 3, 5], 1)));
  Deno.test(`${op} vjp matches finite differences (default axis, 2-D)`, () => fd(soft(op, [3, 4])));
  Deno.test(`${op} vjp matches finite differences (axis 0, 1-D)`, () => fd(soft(op, [7], 0)));
}

interface LnOpts {
  bias?: boolean;
  nOutputs?: number;
  /** dtype of Mean and InvStdDev (stash_type); default FLOAT, as in ONNX. */
  stash?: DType;
  dtype?: DType;
}

function layerNorm(shape: number[], axis: number, o: LnOpts): CheckSpec {
  const rank = shape.length;
  const norm = shape.slice(axis < 0 ? axis + rank : axis);
  return {
    op: "LayerNormalization",
    inputs: [
      { name: "x", shape, wrt: true },
      { name: "scale", shape: norm, wrt: true },
      o.bias ? { name: "b", shape: norm, wrt: true } : { name: "b", shape: [], omitted: true },
    ],
    attrs: [
      attr.int("axis", axis),
      attr.float("epsilon", 1e-3),
      attr.int("stash_type", o.stash ?? DType.FLOAT),
    ],
    nOutputs: o.nOutputs ?? 1,
    dtype: o.dtype ?? DType.DOUBLE,
  };
}

Deno.test("LayerNormalization vjp matches finite differences (axis -1, with B)", () =>
  fd(layerNorm([2, 3, 5], -1, { bias: true })));
Deno.test("LayerNormalization vjp matches finite differences (axis 1, 3-D, no B)", () =>
  fd(layerNorm([2, 3, 4], 1, {})));
Deno.test("LayerNormalization vjp matches finite differences (axis 0, 2-D)", () =>
  fd(layerNorm([3, 5], 0, { bias: true })));
// The harness sums every output into the loss, so Mean and InvStdDev (float, stash_type 1)
// must share X's dtype, and ONNX Runtime has no double-stash kernel: float32, F32_TOL below.
Deno.test("LayerNormalization vjp matches finite differences (float32, Mean and InvStdDev)", () =>
  fd(layerNorm([4, 3], -1, { bias: true, nOutputs: 3, dtype: DType.FLOAT }), F32_TOL));
Deno.test("LayerNormalization vjp matches finite differences (scale broadcast [1,5])", () =>
  fd({
    op: "LayerNormalization",
    inputs: [
      { name: "x", shape: [2, 3, 5], wrt: true },
      { name: "scale", shape: [1, 5], wrt: true },
      { name: "b", shape: [5], wrt: true },
    ],
    attrs: [attr.int("axis", -2)],
  }));

function instanceNorm(shape: number[], dtype: DType): CheckSpec {
  const c = [shape[1]!];
  return {
    op: "InstanceNormalization",
    inputs: [
      { name: "x", shape, wrt: true },
      { name: "scale", shape: c, wrt: true },
      { name: "b", shape: c, wrt: true },
    ],
    attrs: [attr.float("epsilon", 1e-3)],
    dtype,
  };
}

Deno.test("InstanceNormalization vjp matches finite differences (float32, [2,3,4,5])", () =>
  fd(instanceNorm([2, 3, 4, 5], DType.FLOAT), F32_TOL));
Deno.test("InstanceNormalization vjp matches finite differences (float32, 1-D spatial)", () =>
  fd(instanceNorm([3, 2, 7], DType.FLOAT), F32_TOL));

Deno.test("norm vjps emit only standard ai.onnx operators", () => {
  const specs = [
    soft("Softmax", [2, 3], -1),
    soft("LogSoftmax", [2, 3], 0),
    layerNorm([2, 3, 4], -1, { bias: true, nOutputs: 3, dtype: DType.FLOAT }),
    instanceNorm([2, 3, 4], DType.FLOAT),
  ];
  for (const spec of specs) {
    const { model, shapes } = buildCheckModel(spec, new Rng(1));
    const wrt = spec.inputs.filter((i) => i.wrt).map((i) => i.name);
    const { model: out } = differentiate(model, { loss: "loss", wrt, shapes });
    for (const node of out.graph.nodes) {
      assert.equal(node.domain, "", `${node.opType} is in domain '${node.domain}'`);
      assert.ok(STANDARD.has(node.opType), `${node.opType} is not an expected ai.onnx operator`);
    }
  }
});

/** ai.onnx operators the norm rules (and the check harness around them) may emit. */
const STANDARD = new Set([
  "Softmax",
  "LogSoftmax",
  "LayerNormalization",
  "InstanceNormalization",
  "ReduceSum",
  "ReduceMean",
  "Reshape",
  "Expand",
  "Mul",
  "Div",
  "Add",
  "Sub",
  "Sqrt",
  "Reciprocal",
  "Exp",
  "Cast",
  "Sum",
  "Identity",
]);

Deno.test("LayerNormalization vjp in float32 reuses the node's Mean/InvStdDev; matches float64", async () => {
  const x = new Rng(5).normals(2 * 3 * 6).map((v, i) => 3 + v * (1 + (i % 3)));
  const body = (dtype: DType) => (g: Builder, v: string) =>
    g.one("LayerNormalization", [
      v,
      g.constant(dtype, [6], [1, -2, 0.5, 3, 1, 2]),
      g.constant(dtype, [6], [0, 1, 0, 1, 0, 1]),
    ], [attr.int("axis", -1), attr.float("epsilon", 1e-5)]);
  const ref = await gradient(lossGraph([2, 3, 6], DType.DOUBLE, body(DType.DOUBLE)), x);
  const f32 = await gradient(lossGraph([2, 3, 6], DType.FLOAT, body(DType.FLOAT)), x);
  const ln = f32.model.graph.nodes.filter((n) => n.opType === "LayerNormalization");
  assert.equal(ln.length, 1, "no second LayerNormalization: the statistics are reused");
  assert.equal(ln[0]!.outputs.length, 3);
  const err = relErr(f32.grad, ref.grad);
  assert.ok(err <= 1e-5, `float32 vs float64 rel err ${err}`);
});

Deno.test("InstanceNormalization vjp in float32: statistics by one LayerNormalization", async () => {
  const x = new Rng(6).normals(2 * 3 * 4 * 4).map((v, i) => 2 + v * (1 + (i % 4)));
  const model = lossGraph([2, 3, 4, 4], DType.FLOAT, (g, v) =>
    g.one("InstanceNormalization", [
      v,
      g.constant(DType.FLOAT, [3], [1, 2, 0.5]),
      g.constant(DType.FLOAT, [3], [0, 0, 0]),
    ]));
  const { grad, model: diff } = await gradient(model, x);
  // A learned scale keeps the InstanceNormalization (canonical.ts rewrites unit scales).
  const emitted = emittedFor(diff, "InstanceNormalization");
  assert.equal(emitted.filter((o) => o === "LayerNormalization").length, 1, emitted.join(" "));
  // float32 against float32 central differences (h = 1e-2 on values ~1): F32_TOL as above.
  const s = await Session.create(model);
  const at = async (v: number[]) =>
    Number(
      (await s.run({ x: { dtype: "float32", dims: [2, 3, 4, 4], data: Float32Array.from(v) } }))
        .loss!.data[0],
    );
  const fdv: number[] = [];
  for (let j = 0; j < x.length; j++) {
    const p = [...x], m = [...x];
    p[j]! += 1e-2;
    m[j]! -= 1e-2;
    fdv.push(((await at(p)) - (await at(m))) / 2e-2);
  }
  await s.release();
  assert.ok(relErr(grad, fdv) <= F32_TOL, `rel err ${relErr(grad, fdv)}`);
});

Deno.test("attention pattern: Softmax read only by MatMul(y, V) sums dO·O, matches FD", async () => {
  const x = new Rng(3).normals(2 * 3 * 4);
  const v = new Rng(4).normals(2 * 4 * 5);
  for (const shared of [false, true]) {
    const model = lossGraph([2, 3, 4], DType.DOUBLE, (g, s) => {
      const y = g.softmax(s, -1);
      const o = g.matmul(y, g.constant(DType.DOUBLE, [2, 4, 5], v));
      // Read elsewhere too: the per-operator rule runs.
      return shared ? g.add(g.reduceSum(y, [2]), o) : o;
    });
    const { grad, model: diff } = await gradient(model, x);
    const mm = diff.graph.nodes.find((n) => n.opType === "MatMul" && !n.name.includes("@"))!;
    const readsO = diff.graph.nodes.some((n) =>
      n.name.endsWith("@Softmax") && n.opType === "Mul" && n.inputs.includes(mm.outputs[0]!)
    );
    assert.equal(readsO, !shared);
    assert.ok(relErr(grad, await finiteDifferences(model, x)) <= 1e-6, `shared ${shared}`);
  }
});
