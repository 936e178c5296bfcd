import assert from "node:assert/strict";
import { join } from "node:path";
import { loadModel, saveModel, tensorBytes } from "../../../core/onnx/model.ts";
import { decodeModel, encodeModel } from "../../../core/onnx/proto.ts";
import { Session } from "../../../core/onnx/runtime.ts";
import { makeTensor } from "../../../core/onnx/tensor_data.ts";
import { DType, type Model } from "../../../core/onnx/types.ts";
import { FIXTURES } from "../../helpers/fixtures.ts";

const UNET = `${FIXTURES}sd-tiny-torch/unet/model.onnx`;

Deno.test("decodeModel/encodeModel round-trips a PyTorch export to identical structure", async () => {
  const bytes = await Deno.readFile(UNET);
  const m = decodeModel(bytes);
  const again = decodeModel(encodeModel(m));
  assert.equal(again.graph.nodes.length, m.graph.nodes.length);
  assert.equal(again.graph.initializers.length, m.graph.initializers.length);
  assert.deepEqual(again.opsetImports, m.opsetImports);
  assert.deepEqual(again.graph.nodes.map((n) => n.opType), m.graph.nodes.map((n) => n.opType));
  assert.deepEqual(again.graph.nodes[5], m.graph.nodes[5]);
  const t0 = m.graph.initializers[0]!, t1 = again.graph.initializers[0]!;
  assert.deepEqual(t1.dims, t0.dims);
  assert.deepEqual(t1.data, t0.data);
});

Deno.test("loadModel names the file and the cause for missing or corrupt files", async () => {
  await assert.rejects(loadModel("/nonexistent/model.onnx"), /model file not found: \/nonexistent/);
  const dir = await Deno.makeTempDir();
  const bad = join(dir, "bad.onnx");
  await Deno.writeFile(bad, new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3]));
  await assert.rejects(loadModel(bad), /bad\.onnx: not a valid ONNX/);
  await Deno.remove(dir, { recursive: true });
});

function externalModel(dataFile: string): Model {
  return {
    irVersion: 8,
    opsetImports: [{ domain: "", version: 17 }],
    producerName: "test",
    producerVersion: "",
    graph: {
      name: "g",
      nodes: [{
        name: "n",
        opType: "Add",
        domain: "",
        inputs: ["x", "w"],
        outputs: ["y"],
        attributes: [],
      }],
      initializers: [{
        name: "w",
        dtype: DType.FLOAT,
        dims: [3],
        external: { location: dataFile, offset: 8, length: 12 },
      }],
      inputs: [{ name: "x", dtype: DType.FLOAT, shape: [3] }],
      outputs: [{ name: "y", dtype: DType.FLOAT, shape: [3] }],
      valueInfo: [],
    },
  };
}

Deno.test("saveModel keeps external data in place: a model saved elsewhere runs on the same file", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(join(dir, "weights"));
  await Deno.mkdir(join(dir, "out", "deep"), { recursive: true });
  const payload = new Uint8Array(20);
  payload.set(new Uint8Array(Float32Array.from([1, 2, 3]).buffer), 8);
  await Deno.writeFile(join(dir, "weights", "w.bin"), payload);
  await saveModel(externalModel("w.bin"), join(dir, "weights", "model.onnx"));
  const loaded = await loadModel(join(dir, "weights", "model.onnx"));
  await saveModel(loaded, join(dir, "out", "deep", "copy.onnx"));
  const copy = await loadModel(join(dir, "out", "deep", "copy.onnx"));
  assert.equal(copy.graph.initializers[0]!.external!.location, "../../weights/w.bin");
  const w = await tensorBytes(copy.graph.initializers[0]!, copy.baseDir);
  assert.deepEqual(Array.from(new Float32Array(w.slice().buffer)), [1, 2, 3]);
  const s = await Session.create(copy);
  const r = await s.run({
    x: { dtype: "float32", dims: [3], data: Float32Array.from([10, 20, 30]) },
  });
  assert.deepEqual(Array.from(r.y!.data as Float32Array), [11, 22, 33]);
  await s.release();
  const files = [...Deno.readDirSync(join(dir, "out", "deep"))].map((e) => e.name);
  assert.deepEqual(files, ["copy.onnx"], "no weights were copied");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("Session.run reports wrong input names, dtypes and shapes in words", async () => {
  const m = externalModel("unused");
  m.graph.initializers = [makeTensor("w", DType.FLOAT, [3], [1, 1, 1])];
  const s = await Session.create(m);
  await assert.rejects(s.run({}), /missing input 'x'/);
  await assert.rejects(
    s.run({ x: { dtype: "float64", dims: [3], data: new Float64Array(3) } }),
    /input 'x' must be float32, got float64/,
  );
  await assert.rejects(
    s.run({ x: { dtype: "float32", dims: [4], data: new Float32Array(4) } }),
    /input 'x' must have shape \[3\], got \[4\]/,
  );
  await s.release();
});
