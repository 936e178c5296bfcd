import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { loadModel } from "../../../core/onnx/model.ts";
import { encodeModel } from "../../../core/onnx/proto.ts";
import {
  inferNode,
  inferShapes,
  ShapeTable,
  tensorToConst,
} from "../../../core/onnx/shape_inference.ts";
import { encodeValues, makeTensor } from "../../../core/onnx/tensor_data.ts";
import { type Attribute, DType, type Model, type Node, numel } from "../../../core/onnx/types.ts";
import { FIXTURES } from "../../helpers/fixtures.ts";

const { FLOAT: F, INT64: I64, BOOL: B } = DType;

/** An input of a hand-built node: its type, plus data when it is a constant. */
interface In {
  dtype: DType;
  shape: number[];
  data?: number[];
}
const f = (...shape: number[]): In => ({ dtype: F, shape });
const ints = (...data: number[]): In => ({ dtype: I64, shape: [data.length], data });
const flts = (...data: number[]): In => ({ dtype: F, shape: [data.length], data });
const scalar = (dtype: DType, v: number): In => ({ dtype, shape: [], data: [v] });

type AttrValue = number | number[] | string | Attribute;
function attrs(a: Record<string, AttrValue>): Attribute[] {
  return Object.entries(a).map(([name, v]): Attribute =>
    typeof v === "number"
      ? { name, type: "int", i: v }
      : typeof v === "string"
      ? { name, type: "string", s: v }
      : Array.isArray(v)
      ? { name, type: "ints", ints: v }
      : v
  );
}

function node(op: string, ins: (In | null)[], a: Record<string, AttrValue>, nOut: number): Node {
  return {
    name: `n_${op}`,
    opType: op,
    domain: "",
    inputs: ins.map((x, i) => (x ? `in${i}` : "")),
    outputs: Array.from({ length: nOut }, (_, i) => `out${i}`),
    attributes: attrs(a),
  };
}

function infer(n: Node, ins: (In | null)[], opset: number) {
  return inferNode(
    n,
    ins.map((x) => (x ? { dtype: x.dtype, shape: x.shape } : undefined)),
    ins.map((x) => (x?.data ? { dtype: x.dtype, shape: x.shape, data: x.data } : undefined)),
    opset,
  );
}

const ORT_DTYPE: Record<string, DType> = { float32: F, int64: I64, int32: DType.INT32, bool: B };

function feed(dtype: DType, shape: number[], fill: (i: number) => number): ort.Tensor {
  const n = numel(shape);
  if (dtype === F) {
    return new ort.Tensor(
      "float32",
      Float32Array.from({ length: n }, (_, i) => fill(i)),
      shape,
    );
  }
  if (dtype === DType.INT32) {
    return new ort.Tensor(
      "int32",
      Int32Array.from({ length: n }, (_, i) => fill(i)),
      shape,
    );
  }
  if (dtype === I64) return new ort.Tensor("int64", new BigInt64Array(n), shape);
  if (dtype === B) return new ort.Tensor("bool", new Uint8Array(n), shape);
  throw new Error(`no feed for dtype ${dtype}`);
}

/**
 * Runs `model` with every node output exposed; returns ORT's outputs by name. Input shapes
 * are set to the fed dims and declared output/value_info shapes dropped, because symbolic
 * dims do not survive decoding (they come back as 0).
 */
async function runAll(model: Model, feeds: Record<string, ort.Tensor>, types: ShapeTable) {
  const g = model.graph;
  const outputs = g.nodes.flatMap((n) => n.outputs).filter((o) => o !== "")
    .map((name) => ({ name, dtype: types.type(name).dtype, shape: null }));
  const inputs = g.inputs.map((v) => ({
    ...v,
    shape: feeds[v.name] ? [...feeds[v.name]!.dims] : v.shape,
  }));
  const m = { ...model, graph: { ...g, inputs, outputs, valueInfo: [] } };
  const session = await ort.InferenceSession.create(encodeModel(m), {
    graphOptimizationLevel: "disabled",
  });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

/** Checks every output type (and folded value) in `table` against ORT's results. */
function compareWithOrt(table: ShapeTable, names: string[], got: ort.InferenceSession.ReturnType) {
  let folded = 0;
  for (const name of names) {
    const t = got[name];
    assert.ok(t, `ORT did not return '${name}'`);
    const mine = table.type(name);
    assert.deepEqual(mine.shape, [...t.dims], `shape of '${name}'`);
    assert.equal(mine.dtype, ORT_DTYPE[t.type], `dtype of '${name}'`);
    const v = table.value(name);
    if (!v) continue;
    folded++;
    const ref = Array.from(t.data as ArrayLike<number | bigint>, Number);
    if (v.dtype === F) {
      v.data.forEach((x, i) =>
        assert.ok(Math.abs(x - ref[i]!) <= 1e-6 * Math.abs(ref[i]!), `${name}[${i}]`)
      );
    } else assert.deepEqual(v.data, ref, `value of '${name}'`);
  }
  return folded;
}

interface Case {
  label: string;
  op: string;
  ins: (In | null)[];
  attrs?: Record<string, AttrValue>;
  opset?: number;
  shapes: number[][];
  values?: number[][];
}

const BIG = 1e9;
// One row per case reads best as a table, so the formatter leaves it alone.
// deno-fmt-ignore
const CASES: Case[] = [
  { label: "Add broadcasting", op: "Add", ins: [f(2, 1, 3), f(4, 1)], shapes: [[2, 4, 3]] },
  { label: "MatMul 1-D x 1-D", op: "MatMul", ins: [f(3), f(3)], shapes: [[]] },
  { label: "MatMul 1-D x 2-D", op: "MatMul", ins: [f(3), f(3, 4)], shapes: [[4]] },
  { label: "MatMul 3-D x 1-D", op: "MatMul", ins: [f(2, 3, 4), f(4)], shapes: [[2, 3]] },
  { label: "MatMul batch broadcast", op: "MatMul", ins: [f(2, 1, 3, 4), f(5, 4, 6)], shapes: [[2, 5, 3, 6]] },
  { label: "Gemm transA transB", op: "Gemm", ins: [f(4, 3), f(5, 4), f(5)], attrs: { transA: 1, transB: 1 }, shapes: [[3, 5]] },
  { label: "Reshape 0 and -1", op: "Reshape", ins: [f(2, 3, 4), ints(0, -1)], shapes: [[2, 12]] },
  { label: "Reshape leading -1", op: "Reshape", ins: [f(2, 3, 4), ints(-1, 3, 2)], shapes: [[4, 3, 2]] },
  { label: "Reshape allowzero", op: "Reshape", ins: [f(0, 4), ints(0, 2, 2)], attrs: { allowzero: 1 }, shapes: [[0, 2, 2]] },
  { label: "Slice negative start", op: "Slice", ins: [f(10), ints(-3), ints(BIG)], shapes: [[3]] },
  { label: "Slice negative step", op: "Slice", ins: [f(4, 10), ints(-1), ints(-BIG), ints(-1), ints(-2)], shapes: [[4, 5]] },
  { label: "Slice clamping", op: "Slice", ins: [f(4, 10), ints(20, -100), ints(30, 2), ints(1, 0)], shapes: [[2, 0]] },
  { label: "Conv pads stride dilation", op: "Conv", ins: [f(1, 3, 10, 11), f(8, 3, 3, 3)], attrs: { pads: [1, 0, 2, 1], strides: [2, 2], dilations: [2, 1] }, shapes: [[1, 8, 5, 5]] },
  { label: "Conv group SAME_UPPER", op: "Conv", ins: [f(1, 4, 7, 7), f(6, 2, 3, 3)], attrs: { group: 2, auto_pad: "SAME_UPPER", strides: [2, 2] }, shapes: [[1, 6, 4, 4]] },
  { label: "ConvTranspose output_padding", op: "ConvTranspose", ins: [f(1, 4, 5, 5), f(4, 2, 3, 3)], attrs: { group: 2, strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] }, shapes: [[1, 4, 10, 10]] },
  { label: "ConvTranspose output_shape", op: "ConvTranspose", ins: [f(1, 4, 5, 5), f(4, 3, 3, 3)], attrs: { strides: [2, 2], output_shape: [10, 10] }, shapes: [[1, 3, 10, 10]] },
  { label: "MaxPool ceil_mode", op: "MaxPool", ins: [f(1, 2, 8, 8)], attrs: { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }, shapes: [[1, 2, 4, 4], [1, 2, 4, 4]] },
  { label: "AveragePool pads", op: "AveragePool", ins: [f(1, 1, 5, 5)], attrs: { kernel_shape: [2, 2], pads: [1, 1, 0, 0] }, shapes: [[1, 1, 5, 5]] },
  { label: "GlobalAveragePool", op: "GlobalAveragePool", ins: [f(2, 3, 5, 6)], shapes: [[2, 3, 1, 1]] },
  { label: "Resize scales", op: "Resize", ins: [f(1, 3, 4, 6), null, flts(1, 1, 2, 1.5)], opset: 13, shapes: [[1, 3, 8, 9]] },
  { label: "Resize sizes not_larger", op: "Resize", ins: [f(1, 3, 4, 6), null, null, ints(8, 8)], attrs: { axes: [2, 3], keep_aspect_ratio_policy: "not_larger" }, opset: 18, shapes: [[1, 3, 5, 8]] },
  { label: "Gather scalar negative index", op: "Gather", ins: [f(5, 6), scalar(I64, -1)], attrs: { axis: 1 }, shapes: [[5]] },
  { label: "Gather index matrix", op: "Gather", ins: [f(5, 6), { dtype: I64, shape: [2, 3] }], shapes: [[2, 3, 6]] },
  { label: "Split input", op: "Split", ins: [f(6, 4), ints(2, 4)], opset: 13, shapes: [[2, 4], [4, 4]] },
  { label: "Split num_outputs", op: "Split", ins: [f(7, 2)], attrs: { num_outputs: 3 }, opset: 18, shapes: [[3, 2], [3, 2], [1, 2]] },
  { label: "Split attribute", op: "Split", ins: [f(2, 6)], attrs: { axis: 1, split: [1, 2, 3] }, opset: 11, shapes: [[2, 1], [2, 2], [2, 3]] },
  { label: "Einsum batched", op: "Einsum", ins: [f(2, 3, 4), f(2, 4, 5)], attrs: { equation: "bij,bjk->bik" }, shapes: [[2, 3, 5]] },
  { label: "Einsum implicit", op: "Einsum", ins: [f(3, 4), f(4, 5)], attrs: { equation: "ij,jk" }, shapes: [[3, 5]] },
  { label: "Einsum ellipsis", op: "Einsum", ins: [f(2, 3, 4, 5)], attrs: { equation: "...ij->...ji" }, shapes: [[2, 3, 5, 4]] },
  { label: "ReduceSum negative axis input", op: "ReduceSum", ins: [f(2, 3, 4), ints(-1)], attrs: { keepdims: 0 }, opset: 13, shapes: [[2, 3]] },
  { label: "ReduceMean axes attribute", op: "ReduceMean", ins: [f(2, 3, 4)], attrs: { axes: [-1, 0] }, opset: 14, shapes: [[1, 3, 1]] },
  { label: "ReduceMax axes input", op: "ReduceMax", ins: [f(2, 3, 4), ints(-2)], opset: 18, shapes: [[2, 1, 4]] },
  { label: "ReduceSum noop", op: "ReduceSum", ins: [f(2, 3)], attrs: { noop_with_empty_axes: 1 }, opset: 13, shapes: [[2, 3]] },
  { label: "ArgMax", op: "ArgMax", ins: [f(2, 3, 4)], attrs: { axis: -1, keepdims: 0 }, shapes: [[2, 3]] },
  { label: "LayerNormalization", op: "LayerNormalization", ins: [f(2, 3, 4), f(3, 4)], attrs: { axis: 1 }, shapes: [[2, 3, 4], [2, 1, 1], [2, 1, 1]] },
  { label: "BatchNormalization", op: "BatchNormalization", ins: [f(2, 3, 4), f(3), f(3), f(3), f(3)], shapes: [[2, 3, 4]] },
  { label: "InstanceNormalization", op: "InstanceNormalization", ins: [f(2, 3, 5), f(3), f(3)], shapes: [[2, 3, 5]] },
  { label: "Pad axes", op: "Pad", ins: [f(2, 3, 4), ints(1, 2, 0, 3), null, ints(0, -1)], opset: 18, shapes: [[3, 3, 9]] },
  { label: "Pad reflect", op: "Pad", ins: [f(1, 1, 4, 4), ints(0, 0, 1, 1, 0, 0, 1, 1)], attrs: { mode: "reflect" }, opset: 13, shapes: [[1, 1, 6, 6]] },
  { label: "Expand", op: "Expand", ins: [f(3, 1), ints(2, 1, 4)], shapes: [[2, 3, 4]] },
  { label: "Where", op: "Where", ins: [{ dtype: B, shape: [2, 1] }, f(1, 3), f(2, 3)], shapes: [[2, 3]] },
  { label: "Transpose default", op: "Transpose", ins: [f(2, 3, 4)], shapes: [[4, 3, 2]] },
  { label: "Flatten negative axis", op: "Flatten", ins: [f(2, 3, 4, 5)], attrs: { axis: -2 }, shapes: [[6, 20]] },
  { label: "Unsqueeze input axes", op: "Unsqueeze", ins: [f(3, 4), ints(0, -1)], opset: 13, shapes: [[1, 3, 4, 1]] },
  { label: "Squeeze attribute", op: "Squeeze", ins: [f(3, 1, 4)], attrs: { axes: [1] }, opset: 11, shapes: [[3, 4]] },
  { label: "Squeeze all", op: "Squeeze", ins: [f(1, 3, 1)], opset: 13, shapes: [[3]] },
  { label: "Dropout mask", op: "Dropout", ins: [f(2, 3)], shapes: [[2, 3], [2, 3]] },
  { label: "Equal is BOOL", op: "Equal", ins: [f(2, 3), f(3)], shapes: [[2, 3]] },
  { label: "Shape start/end", op: "Shape", ins: [f(2, 3, 4, 5)], attrs: { start: 1, end: -1 }, shapes: [[2]], values: [[3, 4]] },
  { label: "MaxPool ceil drops a window in the padding", op: "MaxPool", ins: [f(1, 1, 5)], attrs: { kernel_shape: [3], strides: [3], pads: [0, 2], ceil_mode: 1 }, shapes: [[1, 1, 2], [1, 1, 2]] },
  { label: "Conv VALID", op: "Conv", ins: [f(1, 1, 7, 8), f(2, 1, 3, 2)], attrs: { strides: [2, 3], auto_pad: "VALID" }, shapes: [[1, 2, 3, 3]] },
  { label: "Conv 1-D with bias", op: "Conv", ins: [f(2, 4, 9), f(3, 4, 3), f(3)], attrs: { pads: [2, 0] }, shapes: [[2, 3, 9]] },
  { label: "ConvTranspose SAME_UPPER", op: "ConvTranspose", ins: [f(1, 2, 5, 5), f(2, 3, 3, 3)], attrs: { strides: [2, 2], auto_pad: "SAME_UPPER" }, shapes: [[1, 3, 10, 10]] },
  { label: "Resize fractional scales", op: "Resize", ins: [f(1, 1, 10, 3), null, flts(1, 1, 1.7, 0.5)], opset: 13, shapes: [[1, 1, 17, 1]] },
  { label: "Einsum diagonal", op: "Einsum", ins: [f(3, 3)], attrs: { equation: "ii->i" }, shapes: [[3]] },
  { label: "Squeeze negative axis input", op: "Squeeze", ins: [f(1, 3, 1), ints(-1)], opset: 13, shapes: [[1, 3]] },
  { label: "ReduceL2 all axes", op: "ReduceL2", ins: [f(2, 3)], attrs: { keepdims: 0 }, opset: 18, shapes: [[]] },
  { label: "ScatterND", op: "ScatterND", ins: [f(4, 5), { dtype: I64, shape: [2, 1] }, f(2, 5)], shapes: [[4, 5]] },
  { label: "GatherElements", op: "GatherElements", ins: [f(3, 4), { dtype: I64, shape: [2, 4] }], shapes: [[2, 4]] },
  { label: "Size", op: "Size", ins: [f(2, 3)], shapes: [[]], values: [[6]] },
  { label: "Clip with inputs", op: "Clip", ins: [f(2, 3), scalar(F, 0), scalar(F, 1)], opset: 13, shapes: [[2, 3]] },
  // Folding: all inputs constant.
  { label: "fold Div truncates", op: "Div", ins: [ints(-7, 7, -8), ints(2)], shapes: [[3]], values: [[-3, 3, -4]] },
  { label: "fold Mod sign of divisor", op: "Mod", ins: [ints(-7, 7), ints(3)], shapes: [[2]], values: [[2, 1]] },
  { label: "fold Cast truncates", op: "Cast", ins: [flts(-1.7, 2.9)], attrs: { to: I64 }, shapes: [[2]], values: [[-1, 2]] },
  { label: "fold Mul float32", op: "Mul", ins: [flts(0.1), flts(3)], shapes: [[1]], values: [[Math.fround(Math.fround(0.1) * 3)]] },
  { label: "fold Gather scalar", op: "Gather", ins: [ints(10, 20, 30), scalar(I64, -1)], shapes: [[]], values: [[30]] },
  { label: "fold Slice reverse", op: "Slice", ins: [ints(0, 1, 2, 3, 4, 5), ints(-1), ints(-BIG), ints(0), ints(-2)], shapes: [[3]], values: [[5, 3, 1]] },
  { label: "fold Concat", op: "Concat", ins: [ints(1, 2), ints(3)], attrs: { axis: 0 }, shapes: [[3]], values: [[1, 2, 3]] },
  { label: "fold Range", op: "Range", ins: [scalar(I64, 2), scalar(I64, 11), scalar(I64, 3)], shapes: [[3]], values: [[2, 5, 8]] },
  { label: "fold Range float", op: "Range", ins: [scalar(F, 0), scalar(F, 1), scalar(F, 0.3)], shapes: [[4]] },
  { label: "fold Range float accumulates", op: "Range", ins: [scalar(F, 0), scalar(F, 1), scalar(F, 0.1)], shapes: [[10]] },
  { label: "fold ConstantOfShape", op: "ConstantOfShape", ins: [ints(2, 2)], attrs: { value: { name: "value", type: "tensor", t: makeTensor("", I64, [1], [7]) } }, shapes: [[2, 2]], values: [[7, 7, 7, 7]] },
  { label: "fold Expand", op: "Expand", ins: [ints(1, 2), ints(3, 1)], shapes: [[3, 2]], values: [[1, 2, 1, 2, 1, 2]] },
  { label: "fold ReduceProd", op: "ReduceProd", ins: [{ dtype: I64, shape: [2, 3], data: [1, 2, 3, 4, 5, 6] }, ints(1)], attrs: { keepdims: 0 }, opset: 18, shapes: [[2]], values: [[6, 120]] },
  { label: "fold ReduceMin", op: "ReduceMin", ins: [{ dtype: I64, shape: [2, 3], data: [4, 2, 6, 1, 5, 3] }], attrs: { axes: [0] }, opset: 13, shapes: [[1, 3]], values: [[1, 2, 3]] },
  { label: "fold Trilu", op: "Trilu", ins: [{ dtype: F, shape: [3, 3], data: [1, 2, 3, 4, 5, 6, 7, 8, 9] }, scalar(I64, 1)], shapes: [[3, 3]], values: [[0, 2, 3, 0, 0, 6, 0, 0, 0]] },
  { label: "fold Tile", op: "Tile", ins: [ints(1, 2), ints(3)], shapes: [[6]], values: [[1, 2, 1, 2, 1, 2]] },
  { label: "fold Max", op: "Max", ins: [ints(1, 5), ints(3), ints(4, 0)], shapes: [[2]], values: [[4, 5]] },
  { label: "fold Pow", op: "Pow", ins: [flts(2, 3), flts(0.5)], shapes: [[2]] },
  { label: "fold Transpose", op: "Transpose", ins: [{ dtype: I64, shape: [3, 2], data: [1, 2, 3, 4, 5, 6] }], attrs: { perm: [1, 0] }, shapes: [[2, 3]], values: [[1, 3, 5, 2, 4, 6]] },
  { label: "fold Where", op: "Where", ins: [{ dtype: B, shape: [2], data: [1, 0] }, ints(1, 2), ints(9)], shapes: [[2]], values: [[1, 9]] },
  { label: "fold Pad reflect", op: "Pad", ins: [flts(1, 2, 3, 4), ints(2, 1)], attrs: { mode: "reflect" }, opset: 13, shapes: [[7]], values: [[3, 2, 1, 2, 3, 4, 3]] },
  { label: "fold Not", op: "Not", ins: [{ dtype: B, shape: [2], data: [1, 0] }], shapes: [[2]], values: [[0, 1]] },
];

/** A one-node model: constant inputs become initializers, the others graph inputs. */
function singleNodeModel(n: Node, ins: (In | null)[], opset: number): Model {
  const initializers = ins.flatMap((x, i) =>
    x?.data
      ? [{ name: `in${i}`, dtype: x.dtype, dims: x.shape, data: encodeValues(x.dtype, x.data) }]
      : []
  );
  const inputs = ins.flatMap((x, i) =>
    x && !x.data ? [{ name: `in${i}`, dtype: x.dtype, shape: x.shape }] : []
  );
  return {
    irVersion: 8,
    opsetImports: [{ domain: "", version: opset }],
    producerName: "test",
    producerVersion: "",
    graph: { name: n.name, nodes: [n], initializers, inputs, outputs: [], valueInfo: [] },
  };
}

for (const c of CASES) {
  Deno.test(`inferNode ${c.label} (checked against ORT)`, async () => {
    const opset = c.opset ?? 17;
    const n = node(c.op, c.ins, c.attrs ?? {}, c.shapes.length);
    const inf = infer(n, c.ins, opset);
    assert.deepEqual(inf.types.map((t) => t.shape), c.shapes);
    if (c.values) assert.deepEqual(inf.values.map((v) => v?.data), c.values);
    const table = new ShapeTable();
    n.outputs.forEach((o, i) => {
      table.types.set(o, inf.types[i]!);
      if (inf.values[i]) table.values.set(o, inf.values[i]!);
    });
    const model = singleNodeModel(n, c.ins, opset);
    const feeds = Object.fromEntries(
      model.graph.inputs.map((v) => [v.name, feed(v.dtype, v.shape as number[], () => 0)]),
    );
    const folded = compareWithOrt(table, n.outputs, await runAll(model, feeds, table));
    // With every input constant, every output must fold (and match ORT's values).
    if (c.ins.every((x) => !x || x.data)) assert.equal(folded, n.outputs.length);
  });
}

Deno.test("a Shape -> Gather -> Unsqueeze -> Concat chain folds into a Reshape target", () => {
  const t = new ShapeTable();
  t.types.set("x", { dtype: F, shape: [2, 6, 4] });
  const add = (op: string, inputs: string[], output: string, a: Record<string, AttrValue> = {}) =>
    t.addNode({
      name: output,
      opType: op,
      domain: "",
      inputs,
      outputs: [output],
      attributes: attrs(a),
    }, 14);
  add("Shape", ["x"], "s");
  add("Constant", [], "zero", {
    value: { name: "value", type: "tensor", t: makeTensor("", I64, [], [0]) },
  });
  add("Gather", ["s", "zero"], "b", { axis: 0 });
  add("Constant", [], "axes", { value_ints: [0] });
  add("Unsqueeze", ["b", "axes"], "bu");
  add("Constant", [], "rest", { value_ints: [3, -1] });
  add("Concat", ["bu", "rest"], "target", { axis: 0 });
  add("Reshape", ["x", "target"], "y");
  assert.deepEqual(t.value("target")?.data, [2, 3, -1]);
  assert.deepEqual(t.type("y"), { dtype: F, shape: [2, 3, 8] });
  assert.equal(t.value("y"), undefined);
  assert.throws(() => t.type("nope"), /unknown value 'nope'/);
});

Deno.test("inferNode names the node in errors and rejects unknown or data-dependent ops", () => {
  const mm = node("MatMul", [f(2, 3), f(4, 5)], {}, 1);
  assert.throws(
    () => infer(mm, [f(2, 3), f(4, 5)], 14),
    /node 'n_MatMul' \(MatMul\): inner dimensions differ/,
  );
  const add = node("Add", [f(2, 3), f(4)], {}, 1);
  assert.throws(() => infer(add, [f(2, 3), f(4)], 14), /cannot be broadcast/);
  const rs = node("Reshape", [f(2, 3), ints(4, -1)], {}, 1);
  assert.throws(() => infer(rs, [f(2, 3), ints(4, -1)], 14), /cannot reshape \[2,3\]/);
  const nodeOp = { ...node("Frobnicate", [f(1)], {}, 1), name: "fx" };
  assert.throws(() => infer(nodeOp, [f(1)], 14), {
    message: "shape inference: no rule for operator Frobnicate (node 'fx')",
  });
  assert.throws(
    () => infer(node("NonZero", [f(3)], {}, 1), [f(3)], 14),
    /cannot be inferred statically/,
  );
  const dyn = node("Reshape", [f(2, 3), { dtype: I64, shape: [2] }], {}, 1);
  assert.throws(
    () => infer(dyn, [f(2, 3), { dtype: I64, shape: [2] }], 14),
    /value is not known statically/,
  );
});

Deno.test("tensorToConst decodes int64, float16 and bool bytes", () => {
  assert.deepEqual(tensorToConst(makeTensor("a", I64, [2], [-5, 7])).data, [-5, 7]);
  const h = {
    name: "h",
    dtype: DType.FLOAT16,
    dims: [2],
    data: new Uint8Array([0x00, 0x3c, 0x00, 0xc0]),
  };
  assert.deepEqual(tensorToConst(h), { dtype: DType.FLOAT16, shape: [2], data: [1, -2] });
  assert.deepEqual(tensorToConst(makeTensor("b", B, [3], [1, 0, 1])).data, [1, 0, 1]);
  assert.throws(
    () =>
      tensorToConst({
        name: "e",
        dtype: F,
        dims: [1],
        external: { location: "w", offset: 0, length: 4 },
      }),
    /external/,
  );
});

const SD = `${FIXTURES}sd-tiny-torch/`;
const D2 = `${FIXTURES}diffusers-tiny-sd2/onnx/`;
interface Fixture {
  path: string;
  inputs: (b: number) => Record<string, number[]>;
  outputs: (b: number) => Record<string, number[]>;
}
// deno-fmt-ignore
const MODELS: Fixture[] = [
  { path: `${SD}unet/model.onnx`, inputs: (b) => ({ sample: [b, 4, 16, 16], timestep: [b], encoder_hidden_states: [b, 16, 32] }), outputs: (b) => ({ out_sample: [b, 4, 16, 16] }) },
  { path: `${SD}text_encoder/model.onnx`, inputs: (b) => ({ input_ids: [b, 16] }), outputs: (b) => ({ last_hidden_state: [b, 16, 32] }) },
  { path: `${SD}text_encoder/embeds.onnx`, inputs: (b) => ({ inputs_embeds: [b, 16, 32] }), outputs: (b) => ({ last_hidden_state: [b, 16, 32] }) },
  { path: `${SD}vae_decoder/model.onnx`, inputs: (b) => ({ latent_sample: [b, 4, 16, 16] }), outputs: (b) => ({ sample: [b, 3, 32, 32] }) },
  { path: `${SD}vae_encoder/model.onnx`, inputs: (b) => ({ sample: [b, 3, 32, 32] }), outputs: (b) => ({ latent_sample: [b, 4, 16, 16] }) },
  { path: `${D2}text_encoder/model.onnx`, inputs: (b) => ({ input_ids: [b, 77] }), outputs: (b) => ({ last_hidden_state: [b, 77, 32], pooler_output: [b, 32] }) },
  { path: `${D2}unet/model.onnx`, inputs: (b) => ({ sample: [b, 4, 16, 16], timestep: [b], encoder_hidden_states: [b, 77, 32] }), outputs: (b) => ({ out_sample: [b, 4, 16, 16] }) },
  { path: `${D2}vae_decoder/model.onnx`, inputs: (b) => ({ latent_sample: [b, 4, 16, 16] }), outputs: (b) => ({ sample: [b, 3, 32, 32] }) },
  { path: `${D2}vae_encoder/model.onnx`, inputs: (b) => ({ sample: [b, 3, 32, 32] }), outputs: (b) => ({ latent_sample: [b, 4, 16, 16] }) },
];
const short = (p: string) => p.slice(FIXTURES.length);

for (const fx of MODELS) {
  Deno.test(`inferShapes gives the true output shapes of ${short(fx.path)} for B=1 and B=2`, async () => {
    const model = await loadModel(fx.path);
    for (const b of [1, 2]) {
      const table = inferShapes(model, fx.inputs(b));
      for (const [name, shape] of Object.entries(fx.outputs(b))) {
        assert.deepEqual(table.type(name), { dtype: F, shape }, `${name} at B=${b}`);
      }
    }
  });

  Deno.test(`every intermediate of ${short(fx.path)} matches onnxruntime (B=2)`, async () => {
    const model = await loadModel(fx.path);
    const shapes = fx.inputs(2);
    const table = inferShapes(model, shapes);
    const feeds = Object.fromEntries(model.graph.inputs.map((v) => {
      const ids = v.dtype === DType.INT32;
      return [
        v.name,
        feed(
          v.dtype,
          shapes[v.name]!,
          (i) => (ids ? (i * 37) % 100 : v.name === "timestep" ? 500 : Math.sin(i)),
        ),
      ];
    }));
    const names = model.graph.nodes.flatMap((n) => n.outputs).filter((o) => o !== "");
    const folded = compareWithOrt(table, names, await runAll(model, feeds, table));
    assert.ok(folded > 0, "some Shape-derived values should fold");
  });
}

Deno.test("inferShapes asks for a shape for symbolic input dims and checks given shapes", async () => {
  const model = await loadModel(`${SD}unet/model.onnx`);
  assert.throws(() => inferShapes(model, {}), {
    message: "input 'sample' has unknown dimension 0: give --shape sample=...",
  });
  assert.throws(
    () =>
      inferShapes(model, {
        sample: [1, 5, 16, 16],
        timestep: [1],
        encoder_hidden_states: [1, 16, 32],
      }),
    /input 'sample': shape \[1,5,16,16\] contradicts the declared/,
  );
});
