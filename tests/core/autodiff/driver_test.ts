/** The driver: path selection, sums, errors, integer subgraphs, initializers as wrt. */
import assert from "node:assert/strict";
import { AutodiffError } from "../../../core/autodiff/autodiff_error.ts";
import { differentiate } from "../../../core/autodiff/driver.ts";
import { attr } from "../../../core/onnx/builder.ts";
import { startGraph } from "../../../core/onnx/compose.ts";
import { Session } from "../../../core/onnx/runtime.ts";
import { makeTensor } from "../../../core/onnx/tensor_data.ts";
import { DType } from "../../../core/onnx/types.ts";

const f32 = (dims: number[], values: number[]) => ({
  dtype: "float32" as const,
  dims,
  data: Float32Array.from(values),
});

Deno.test("differentiate() sums gradients that meet and differentiates initializers", async () => {
  const { g, finish } = startGraph([{ name: "x", dtype: DType.FLOAT, shape: [3] }]);
  g.initializers.push(makeTensor("w", DType.FLOAT, [3], [2, 3, 4]));
  g.table.types.set("w", { dtype: DType.FLOAT, shape: [3] });
  // loss = sum(x*w + x*x): d/dx = w + 2x, d/dw = x.
  const y = g.add(g.mul("x", "w"), g.mul("x", "x"));
  g.name(g.reduceSum(y, [0], false), "loss");
  const { model, gradNames } = differentiate(finish(["loss"]), { loss: "loss", wrt: ["x", "w"] });
  assert.deepEqual(gradNames, ["grad_x", "grad_w"]);
  assert.deepEqual(model.graph.outputs.map((o) => o.name), ["loss", "grad_x", "grad_w"]);
  const s = await Session.create(model);
  const r = await s.run({ x: f32([3], [1, -1, 0.5]) });
  assert.deepEqual(Array.from(r.grad_x!.data as Float32Array), [4, 1, 5]);
  assert.deepEqual(Array.from(r.grad_w!.data as Float32Array), [1, -1, 0.5]);
});

Deno.test("differentiate() names the operator and node that has no rule", () => {
  const { g, finish } = startGraph([{ name: "x", dtype: DType.FLOAT, shape: [2, 3] }]);
  const y = g.one("Hardmax", ["x"], [attr.int("axis", 1)]);
  g.name(g.reduceSum(g.mul(y, "x"), [0, 1], false), "loss");
  assert.throws(
    () => differentiate(finish(["loss"]), { loss: "loss", wrt: ["x"] }),
    /no gradient rule for operator Hardmax \(node '.*Hardmax.*'\)/,
  );
  assert.throws(
    () => differentiate(finish(["loss"]), { loss: "loss", wrt: ["x"] }),
    (e) =>
      e instanceof AutodiffError && e.code === "missing_rule" && e.op === "Hardmax" &&
      /Hardmax/.test(e.node ?? ""),
  );
});

Deno.test("differentiate() refuses unknown, non-scalar and integer names", () => {
  const { g, finish } = startGraph([
    { name: "x", dtype: DType.FLOAT, shape: [2] },
    { name: "i", dtype: DType.INT64, shape: [2] },
  ]);
  g.name(g.reduceSum("x", [0], false), "loss");
  const v = g.name(g.mul("x", 2), "vec");
  const m = finish(["loss", v]);
  assert.throws(() => differentiate(m, { loss: "nope", wrt: ["x"] }), /unknown loss 'nope'/);
  assert.throws(() => differentiate(m, { loss: "vec", wrt: ["x"] }), /not scalar: shape \[2\]/);
  assert.throws(() => differentiate(m, { loss: "loss", wrt: ["q"] }), /unknown wrt 'q'/);
  assert.throws(() => differentiate(m, { loss: "loss", wrt: ["i"] }), /wrt 'i' is not a float/);
});

Deno.test("differentiate() leaves integer shape subgraphs alone (no rule needed, not duplicated)", () => {
  const { g, finish } = startGraph([{ name: "x", dtype: DType.FLOAT, shape: [2, 6] }]);
  // Reshape target computed at run time: Shape → Gather → Div → Concat, as exporters emit.
  const shape = g.one("Shape", ["x"]);
  const last = g.one("Gather", [shape, g.ints([1])], [attr.int("axis", 0)]);
  const half = g.div(last, g.ints([2]));
  const target = g.concat([g.ints([2]), g.ints([2]), half], 0);
  const r = g.one("Reshape", ["x", target]);
  g.name(g.reduceSum(g.mul(r, r), [0, 1, 2], false), "loss");
  const fwd = finish(["loss"]);
  const { model } = differentiate(fwd, { loss: "loss", wrt: ["x"] });
  const count = (op: string, nodes = model.graph.nodes) =>
    nodes.filter((n) => n.opType === op).length;
  assert.equal(count("Shape"), count("Shape", fwd.graph.nodes));
  assert.equal(count("Gather"), count("Gather", fwd.graph.nodes));
});

Deno.test("differentiate() gives zeros for a wrt the loss does not depend on", async () => {
  const { g, finish } = startGraph([
    { name: "x", dtype: DType.FLOAT, shape: [2] },
    { name: "unused", dtype: DType.FLOAT, shape: [2, 2] },
  ]);
  g.name(g.reduceSum(g.mul("x", "x"), [0], false), "loss");
  const { model } = differentiate(finish(["loss"]), { loss: "loss", wrt: ["x", "unused"] });
  const s = await Session.create(model);
  const r = await s.run({ x: f32([2], [1, 2]), unused: f32([2, 2], [1, 1, 1, 1]) });
  assert.deepEqual(Array.from(r.grad_unused!.data as Float32Array), [0, 0, 0, 0]);
  assert.deepEqual(r.grad_unused!.dims, [2, 2]);
});
