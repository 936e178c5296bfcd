import assert from "node:assert/strict";
import { attr, type Builder } from "../../../core/onnx/builder.ts";
import { DType } from "../../../core/onnx/types.ts";
import { Rng } from "../../helpers/gradcheck.ts";
import { finiteDifferences, gradient, lossGraph, relErr } from "./_graph_fd.ts";

/** A layer norm as PyTorch exports it: Div(x - mean, Sqrt(mean((x - mean)^2) + eps)). */
function exportedLayerNorm(square: "Pow" | "Mul", axes: number[]) {
  return (g: Builder, x: string): string => {
    const d = g.sub(x, g.reduceMean(x, axes));
    const sq = square === "Pow" ? g.pow(d, 2) : g.mul(d, d);
    const y = g.div(d, g.sqrt(g.add(g.reduceMean(sq, axes), 1e-5)));
    return g.add(g.mul(y, g.constant(g.dtype(x), [5], [1, 2, 3, 4, 5])), 0.5);
  };
}

const X = new Rng(3).normals(2 * 3 * 5).map((v, i) => v + (i % 5));

for (const square of ["Pow", "Mul"] as const) {
  Deno.test(`exported layer norm (${square}) becomes one LayerNormalization; FD64`, async () => {
    const model = lossGraph([2, 3, 5], DType.DOUBLE, exportedLayerNorm(square, [-1]));
    const { grad, model: diff } = await gradient(model, X);
    const ops = diff.graph.nodes.map((n) => n.opType);
    assert.ok(ops.includes("LayerNormalization"), ops.join(" "));
    assert.ok(!ops.includes("Div") && !ops.includes("Pow"), ops.join(" "));
    const err = relErr(grad, await finiteDifferences(model, X));
    assert.ok(err <= 1e-6, `rel err ${err}`);
  });
}

Deno.test("exported layer norm in float32 reuses Mean/InvStdDev and matches float64", async () => {
  const body = exportedLayerNorm("Pow", [2]);
  const ref = await gradient(lossGraph([2, 3, 5], DType.DOUBLE, body), X);
  const f32 = await gradient(lossGraph([2, 3, 5], DType.FLOAT, body), X);
  const ln = f32.model.graph.nodes.find((n) => n.opType === "LayerNormalization")!;
  assert.equal(ln.outputs.length, 3);
  const err = relErr(f32.grad, ref.grad);
  assert.ok(err <= 1e-5, `float32 vs float64 rel err ${err}`);
});

Deno.test("a layer norm whose intermediates are read elsewhere is left as it is", async () => {
  const body = (g: Builder, x: string) => {
    const d = g.sub(x, g.reduceMean(x, [-1]));
    const std = g.sqrt(g.add(g.reduceMean(g.mul(d, d), [-1]), 1e-5));
    return g.add(g.div(d, std), std); // std is also an output
  };
  const model = lossGraph([2, 3, 5], DType.DOUBLE, body);
  const { grad, model: diff } = await gradient(model, X);
  assert.ok(!diff.graph.nodes.some((n) => n.opType === "LayerNormalization"));
  assert.ok(relErr(grad, await finiteDifferences(model, X)) <= 1e-6);
});

Deno.test("a mean over non-trailing axes is not a layer norm", async () => {
  const model = lossGraph([2, 3, 5], DType.DOUBLE, (g, x) => {
    const d = g.sub(x, g.reduceMean(x, [1]));
    return g.div(d, g.sqrt(g.add(g.reduceMean(g.mul(d, d), [1]), 1e-5)));
  });
  const { grad, model: diff } = await gradient(model, X);
  assert.ok(!diff.graph.nodes.some((n) => n.opType === "LayerNormalization"));
  assert.ok(relErr(grad, await finiteDifferences(model, X)) <= 1e-6);
});

Deno.test("a unit-scale InstanceNormalization becomes a LayerNormalization; matches float64", async () => {
  const x = new Rng(4).normals(2 * 3 * 4 * 4).map((v, i) => 2 + v * (1 + (i % 4)));
  const f32 = await gradient(
    lossGraph([2, 3, 4, 4], DType.FLOAT, (g, v) =>
      g.one("InstanceNormalization", [
        v,
        g.constant(DType.FLOAT, [3], [1, 1, 1]),
        g.constant(DType.FLOAT, [3], [0, 0, 0]),
      ], [attr.float("epsilon", 1e-5)])),
    x,
  );
  const ops = f32.model.graph.nodes.map((n) => n.opType);
  assert.ok(!ops.includes("InstanceNormalization"), ops.join(" "));
  assert.equal(ops.filter((o) => o === "LayerNormalization").length, 1, "statistics reused");
  // The same normalisation written out in float64 is the reference.
  const ref = await gradient(
    lossGraph([2, 3, 4, 4], DType.DOUBLE, (g, v) => {
      const d = g.sub(v, g.reduceMean(v, [2, 3]));
      return g.div(d, g.sqrt(g.add(g.reduceMean(g.mul(d, d), [2, 3]), 1e-5)));
    }),
    x,
  );
  const err = relErr(f32.grad, ref.grad);
  assert.ok(err <= 1e-5, `float32 vs float64 rel err ${err}`);
});

Deno.test("an InstanceNormalization with a learned scale is left as it is", async () => {
  const x = new Rng(4).normals(2 * 3 * 4).map((v, i) => 2 + v * (1 + (i % 4)));
  const { model } = await gradient(
    lossGraph([2, 3, 4], DType.FLOAT, (g, v) =>
      g.one("InstanceNormalization", [
        v,
        g.constant(DType.FLOAT, [3], [1, 2, 1]),
        g.constant(DType.FLOAT, [3], [0, 0, 0]),
      ])),
    x,
  );
  assert.ok(model.graph.nodes.some((n) => n.opType === "InstanceNormalization"));
});
