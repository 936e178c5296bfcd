import assert from "node:assert/strict";
import { differentiate } from "../../../../core/autodiff/driver.ts";
import { attr } from "../../../../core/onnx/builder.ts";
import { type HostTensor, Session } from "../../../../core/onnx/runtime.ts";
import { type Attribute, DType, type Model } from "../../../../core/onnx/types.ts";
import { buildCheckModel, checkGradient, type InputSpec, Rng } from "../../../helpers/gradcheck.ts";
import { emittedFor, finiteDifferences, gradient, lossGraph, relErr } from "../_graph_fd.ts";

// These operators and their gradients' operators (ScatterND, Pad, Slice, Split, Concat,
// ReduceSum) have float64 CPU kernels: central differences in float64 (h = 1e-6) are
// exact up to ~1e-10 for these piecewise-linear maps.
const FD_TOL = 1e-6;

async function fd(op: string, inputs: InputSpec[], attrs: Attribute[] = [], extra = {}) {
  const r = await checkGradient({ op, inputs, attrs, ...extra });
  assert.ok(r.worst <= FD_TOL, JSON.stringify(r.errors));
}

const ints = (name: string, values: number[], shape = [values.length]): InputSpec => ({
  name,
  shape,
  values,
});

Deno.test("Gather vjp matches finite differences (axis 0, [2,3] indices, negatives, duplicates)", async () => {
  // Row 0 is taken four times (0, -4, 0, 0) and row 2 twice: their gradients must add up.
  const idx = ints("i", [0, -1, 2, 2, -4, 0], [2, 3]);
  await fd("Gather", [{ name: "x", shape: [4, 3], wrt: true }, idx]);
});

Deno.test("Gather vjp matches finite differences (axis 1)", async () => {
  const idx = ints("i", [4, -2, 1, 4]);
  await fd("Gather", [{ name: "x", shape: [2, 5, 3], wrt: true }, idx], [attr.int("axis", 1)]);
});

Deno.test("Gather vjp matches finite differences (scalar index, axis -1)", async () => {
  const idx = ints("i", [-1], []);
  await fd("Gather", [{ name: "x", shape: [3, 4], wrt: true }, idx], [attr.int("axis", -1)]);
});

Deno.test("Gather vjp wraps negative indices computed at run time", async () => {
  // Indices fed at run time take the Where(i < 0, i + dim, i) path; the result must equal
  // the gradient with the same indices as a constant (checked above by finite differences).
  const spec = {
    op: "Gather",
    inputs: [{ name: "x", shape: [2, 5, 3], wrt: true }, ints("i", [4, -2, 1, -2], [2, 2])],
    attrs: [attr.int("axis", 1)],
  };
  const { model, feeds, shapes } = buildCheckModel(spec, new Rng(3));
  const dynamic: Model = structuredClone(model);
  dynamic.graph.initializers = dynamic.graph.initializers.filter((t) => t.name !== "i");
  dynamic.graph.inputs.push({ name: "i", dtype: DType.INT64, shape: [2, 2] });
  const x: HostTensor = { dtype: "float64", dims: [2, 5, 3], data: Float64Array.from(feeds.x!) };
  const i: HostTensor = {
    dtype: "int64",
    dims: [2, 2],
    data: BigInt64Array.from([4n, -2n, 1n, -2n]),
  };
  const grad = async (m: Model, f: Record<string, HostTensor>) => {
    const d = differentiate(m, { loss: "loss", wrt: ["x"], shapes });
    const s = await Session.create(d.model);
    const out = await s.run(f);
    await s.release();
    return [...out.grad_x!.data as Float64Array];
  };
  const expected = await grad(model, { x });
  assert.ok(expected.some((v) => v !== 0));
  assert.deepEqual(await grad(dynamic, { x, i }), expected);
});

const sliceInputs = (
  shape: number[],
  starts: number[],
  ends: number[],
  axes?: number[],
  steps?: number[],
) => {
  const specs: InputSpec[] = [{ name: "x", shape, wrt: true }, ints("s", starts), ints("e", ends)];
  if (axes) specs.push(ints("a", axes));
  if (steps) specs.push(ints("t", steps));
  return specs;
};

Deno.test("Slice vjp matches finite differences (negative starts and ends, clamped ends)", async () => {
  await fd("Slice", sliceInputs([5, 6], [-4, 1], [-1, 100]));
});

Deno.test("Slice vjp matches finite differences (axes [-1], step 2)", async () => {
  await fd("Slice", sliceInputs([3, 7], [1], [7], [-1], [2]));
});

Deno.test("Slice vjp matches finite differences (negative steps, mixed with unit steps)", async () => {
  // Axis 0: 3, 2, 1, 0 (end clamped to -1); axis 2: 4, 2; axis 1: 1, 2, 3 (end clamped).
  await fd("Slice", sliceInputs([4, 4, 5], [-1, 4, 1], [-100, 0, 1000], [0, 2, 1], [-1, -2, 1]));
});

Deno.test("Pad vjp matches finite differences (constant, asymmetric pads, pad value)", async () => {
  await fd("Pad", [
    { name: "x", shape: [2, 3, 4], wrt: true },
    ints("p", [0, 1, 2, 1, 0, 3]),
    { name: "v", shape: [], wrt: true },
  ]);
});

Deno.test("Pad vjp matches finite differences (negative pads crop)", async () => {
  await fd("Pad", [{ name: "x", shape: [4, 5], wrt: true }, ints("p", [1, -1, -2, 2])]);
});

Deno.test("Pad vjp matches finite differences (opset 18 axes input)", async () => {
  const inputs: InputSpec[] = [
    { name: "x", shape: [2, 3, 4], wrt: true },
    ints("p", [1, 0, 2, 3]),
    { name: "v", shape: [], omitted: true },
    ints("a", [-1, 0]),
  ];
  await fd("Pad", inputs, [], { opset: 18 });
});

Deno.test("Pad vjp rejects reflect mode, naming the node", async () => {
  await assert.rejects(
    checkGradient({
      op: "Pad",
      inputs: [{ name: "x", shape: [4, 5], wrt: true }, ints("p", [1, 1, 1, 1])],
      attrs: [attr.string("mode", "reflect")],
    }),
    /Pad node 'op': unsupported mode=reflect/,
  );
});

Deno.test("Concat vjp matches finite differences (3 inputs, axis 1)", async () => {
  await fd("Concat", [
    { name: "a", shape: [2, 1, 3], wrt: true },
    { name: "b", shape: [2, 4, 3], wrt: true },
    { name: "c", shape: [2, 2, 3], wrt: true },
  ], [attr.int("axis", 1)]);
});

Deno.test("Concat vjp matches finite differences (3 inputs, axis -1)", async () => {
  await fd("Concat", [
    { name: "a", shape: [2, 3], wrt: true },
    { name: "b", shape: [2, 1] },
    { name: "c", shape: [2, 4], wrt: true },
  ], [attr.int("axis", -1)]);
});

Deno.test("Split vjp matches finite differences (sizes [2,3])", async () => {
  await fd("Split", [{ name: "x", shape: [3, 5], wrt: true }, ints("s", [2, 3])], [
    attr.int("axis", 1),
  ], { nOutputs: 2 });
});

Deno.test("Split vjp matches finite differences (equal halves)", async () => {
  await fd("Split", [{ name: "x", shape: [4, 3], wrt: true }], [], { nOutputs: 2 });
});

Deno.test("Split vjp gives zeros where an output is unused", async () => {
  const model: Model = {
    irVersion: 8,
    opsetImports: [{ domain: "", version: 17 }],
    producerName: "test",
    producerVersion: "",
    graph: {
      name: "g",
      nodes: [
        {
          name: "split",
          opType: "Split",
          domain: "",
          inputs: ["x"],
          outputs: ["y0", "y1", "y2"],
          attributes: [],
        },
        {
          name: "sum",
          opType: "ReduceSum",
          domain: "",
          inputs: ["y1"],
          outputs: ["loss"],
          attributes: [attr.int("keepdims", 0)],
        },
      ],
      initializers: [],
      inputs: [{ name: "x", dtype: DType.DOUBLE, shape: [6] }],
      outputs: [{ name: "loss", dtype: DType.DOUBLE, shape: [] }],
      valueInfo: [],
    },
  };
  const { model: grad } = differentiate(model, { loss: "loss", wrt: ["x"] });
  const s = await Session.create(grad);
  const out = await s.run({ x: { dtype: "float64", dims: [6], data: new Float64Array(6) } });
  await s.release();
  assert.deepEqual([...out.grad_x!.data as Float64Array], [0, 0, 1, 1, 0, 0]);
});

Deno.test("Expand vjp matches finite differences (new leading axis and broadcast axis)", async () => {
  await fd("Expand", [{ name: "x", shape: [3, 1], wrt: true }, ints("s", [2, 3, 4])]);
});

Deno.test("Tile vjp matches finite differences", async () => {
  await fd("Tile", [{ name: "x", shape: [2, 3], wrt: true }, ints("r", [2, 3])]);
  await fd("Tile", [{ name: "x", shape: [1, 2, 2], wrt: true }, ints("r", [3, 1, 2])]);
});

Deno.test("Slice gradients meeting at a value join by one Concat (zeros in gaps), match FD", async () => {
  const x = new Rng(5).normals(2 * 7);
  const model = lossGraph([2, 7], DType.DOUBLE, (g, v) => {
    const a = g.slice(v, [0], [2], [1]), b = g.slice(v, [4], [6], [1]);
    return g.mul(a, g.tanh(b)); // a gap at 2..3 and at 6
  });
  const { grad, model: diff } = await gradient(model, x);
  assert.deepEqual(emittedFor(diff, "Slice"), []);
  assert.ok(diff.graph.nodes.some((n) => n.opType === "Concat"));
  assert.ok(!diff.graph.nodes.some((n) => n.opType === "Pad"));
  assert.ok(relErr(grad, await finiteDifferences(model, x)) <= FD_TOL);
});
