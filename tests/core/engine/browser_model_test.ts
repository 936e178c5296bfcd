/** core/engine/browser_model.ts: models packed for the in-browser sampler. */
import assert from "node:assert/strict";
import { BROWSER_MODEL_MAX_BYTES, browserModel, EngineError } from "../../../core/engine/mod.ts";
import { loadModel } from "../../../core/models/load_model.ts";
import { decodeModel } from "../../../core/onnx/proto.ts";
import { SD2_DIR } from "../../helpers/tiny_model.ts";

Deno.test("browserModel() packs self-contained ONNX files with the inputs each takes", async () => {
  const model = await loadModel(SD2_DIR, { folders: true });
  try {
    const { manifest, files } = await browserModel(model);
    assert.deepEqual([...files.keys()].sort(), [
      "text_encoder.onnx",
      "unet.onnx",
      "vae_decoder.onnx",
    ]);
    for (const c of Object.values(manifest.components)) {
      const bytes = files.get(c!.file)!;
      assert.equal(bytes.length, c!.bytes);
      assert.ok(decodeModel(bytes).graph.initializers.every((t) => !t.external), c!.file);
    }
    assert.deepEqual(manifest.components.textEncoder!.inputs, {
      input_ids: { dtype: "int32", shape: ["batch", 77] },
    });
  } finally {
    await model.runtime.release();
  }
});

Deno.test("browserModel() refuses a model over BROWSER_MODEL_MAX_BYTES of weights", async () => {
  const model = await loadModel(SD2_DIR, { folders: true });
  try {
    const huge = {
      name: "huge",
      dtype: 1,
      dims: [1],
      external: { location: "x", offset: 0, length: BROWSER_MODEL_MAX_BYTES + 1 },
    };
    const unet = model.runtime.graphs.unet;
    const big = { ...unet, graph: { ...unet.graph, initializers: [huge] } };
    const fake = { ...model, runtime: { graphs: { ...model.runtime.graphs, unet: big } } };
    await assert.rejects(
      browserModel(fake as unknown as typeof model),
      (e) => e instanceof EngineError && e.code === "model_too_large",
    );
  } finally {
    await model.runtime.release();
  }
});
