/** GET /v1/models/{name}/browser and its ONNX files (functions/routes/models_browser.ts). */
import assert from "node:assert/strict";
import { decodeModel } from "../../../core/onnx/proto.ts";
import { makeApp } from "../_helpers.ts";

const KEY = "k1";
const auth = { headers: { Authorization: `Bearer ${KEY}` } };

Deno.test("GET /v1/models/{name}/browser describes the model and serves self-contained ONNX files", async () => {
  const { app, close } = await makeApp({ DD_API_KEYS: KEY });
  try {
    assert.equal((await app.request("/v1/models/tiny-sd2-fixture/browser")).status, 401);
    const res = await app.request("/v1/models/tiny-sd2-fixture/browser", auth);
    assert.equal(res.status, 200);
    const m = await res.json();
    assert.equal(m.name, "tiny-sd2-fixture");
    assert.equal(m.info.maxLength, 77);
    assert.deepEqual(Object.keys(m.components).sort(), ["textEncoder", "unet", "vaeDecoder"]);
    assert.deepEqual(m.components.unet.inputs.timestep, { dtype: "float32", shape: ["batch"] });
    assert.ok(Object.keys(m.tokenizer.vocab).length > 100 && m.tokenizer.merges.length > 0);
    assert.ok(m.schedulerConfig.num_train_timesteps > 0);
    const file = await app.request(`/v1/models/tiny-sd2-fixture/browser/unet.onnx`, auth);
    assert.equal(file.status, 200);
    const bytes = new Uint8Array(await file.arrayBuffer());
    assert.equal(bytes.length, m.components.unet.bytes);
    const model = decodeModel(bytes);
    assert.ok(model.graph.initializers.every((t) => !t.external), "weights inlined");
  } finally {
    await close();
  }
});

Deno.test("GET /v1/models/{name}/browser answers 404 for an unknown model or file", async () => {
  const { app, close } = await makeApp({ DD_API_KEYS: KEY });
  try {
    const unknown = await app.request("/v1/models/nope/browser", auth);
    assert.equal(unknown.status, 404);
    assert.equal((await unknown.json()).error.code, "not_found");
    const file = await app.request("/v1/models/tiny-sd2-fixture/browser/vae_encoder.onnx", auth);
    assert.equal(file.status, 404);
    assert.match((await file.json()).error.message, /no file vae_encoder\.onnx/);
    const odd = await app.request("/v1/models/tiny-sd2-fixture/browser/..%2Fx.onnx", auth);
    assert.equal(odd.status, 400);
  } finally {
    await close();
  }
});
