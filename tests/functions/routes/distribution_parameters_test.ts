/** GET /v1/distributions/{id}/parameters (functions/routes/distribution_parameters.ts). */
import assert from "node:assert/strict";
import { readSafetensors } from "../../../core/artifacts/safetensors_write.ts";
import { fakeDistribution, makeApp } from "../_helpers.ts";

const KEY = "k1";
const auth = { headers: { Authorization: `Bearer ${KEY}` } };

Deno.test("GET /v1/distributions/{id}/parameters answers mu and sigma as safetensors with K", async () => {
  const { app, store, close } = await makeApp({ DD_API_KEYS: KEY });
  try {
    await fakeDistribution(store, "dd_p", "tiny-sd2-fixture");
    assert.equal((await app.request("/v1/distributions/dd_p/parameters")).status, 401);
    const res = await app.request("/v1/distributions/dd_p/parameters", auth);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/octet-stream");
    const { tensors, metadata } = readSafetensors(new Uint8Array(await res.arrayBuffer()));
    assert.deepEqual(metadata, {
      id: "dd_p",
      model: "tiny-sd2-fixture",
      revision: "fixture",
      K: "3",
    });
    assert.deepEqual([...tensors.keys()].sort(), ["mu", "sigma"]); // stored without features
    assert.deepEqual(tensors.get("mu")!.shape, [77, 32]);
    const missing = await app.request("/v1/distributions/dd_missing/parameters", auth);
    assert.equal(missing.status, 404);
    assert.equal((await missing.json()).error.code, "not_found");
  } finally {
    await close();
  }
});
