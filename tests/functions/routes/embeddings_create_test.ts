import assert from "node:assert/strict";
import { fakeDistribution, makeApp, postJson } from "../_helpers.ts";

Deno.test("POST /v1/embeddings answers safetensors with c_tilde [n, L, d]", async () => {
  const { app, store, close } = await makeApp();
  try {
    await fakeDistribution(store, "dd_a", "tiny-sd2-fixture");
    const res = await app.request(
      "/v1/embeddings",
      postJson({ distribution: "dd_a", n: 3, seed: 1 }),
    );
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("Content-Type"), "application/octet-stream");
    const bytes = new Uint8Array(await res.arrayBuffer());
    const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen)));
    assert.deepEqual(header.c_tilde.shape, [3, 77, 32]);
    assert.deepEqual(header.uncond.shape, [1, 77, 32]);
    assert.equal(header.__metadata__.model, "tiny-sd2-fixture");
  } finally {
    await close();
  }
});
