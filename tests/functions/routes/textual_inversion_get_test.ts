/**
 * GET /v1/distributions/{id}/textual_inversion: one prompt is the safetensors file itself
 * (emb_params [M, d], values of ctx[k]); several are a zip of them; bad selections are 400.
 */
import assert from "node:assert/strict";
import { unzipSync } from "fflate";
import { loadDistribution } from "../../../core/artifacts/distribution_artifact.ts";
import { readSafetensors } from "../../../core/artifacts/safetensors_write.ts";
import { fakeDistribution, makeApp } from "../_helpers.ts";

const [M, d] = [2, 32];

Deno.test("GET /v1/distributions/{id}/textual_inversion answers one file or a zip", async () => {
  const { app, store, close } = await makeApp();
  try {
    await fakeDistribution(store, "dd_a", "tiny-sd2-fixture");
    const { tensors } = await loadDistribution(store, "dd_a");
    const one = await app.request("/v1/distributions/dd_a/textual_inversion?prompts=1");
    assert.equal(one.status, 200);
    assert.equal(one.headers.get("content-type"), "application/octet-stream");
    assert.match(one.headers.get("content-disposition")!, /filename="dd_a-k1\.safetensors"/);
    const t = readSafetensors(new Uint8Array(await one.arrayBuffer())).tensors;
    assert.deepEqual([...t.keys()], ["emb_params"]);
    assert.deepEqual(t.get("emb_params")!.shape, [M, d]);
    assert.deepEqual(t.get("emb_params")!.data, tensors.ctx.data.subarray(M * d, 2 * M * d));

    const all = await app.request(
      "/v1/distributions/dd_a/textual_inversion?dtype=float16&name=disc",
    );
    assert.equal(all.status, 200);
    assert.equal(all.headers.get("content-type"), "application/zip");
    const files = unzipSync(new Uint8Array(await all.arrayBuffer()));
    assert.deepEqual(Object.keys(files).sort(), [
      "disc-k0.safetensors",
      "disc-k1.safetensors",
      "disc-k2.safetensors",
    ]);
    const bytes = files["disc-k2.safetensors"]!;
    const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    assert.deepEqual(header.emb_params, {
      dtype: "F16",
      shape: [M, d],
      data_offsets: [0, M * d * 2],
    });
  } finally {
    await close();
  }
});

Deno.test("GET /v1/distributions/{id}/textual_inversion refuses bad selections", async () => {
  const { app, store, close } = await makeApp();
  try {
    await fakeDistribution(store, "dd_a", "tiny-sd2-fixture");
    const cases: [string, number, RegExp][] = [
      ["prompts=3", 400, /prompt 3 is out of range: this distribution has K = 3/],
      ["prompts=0,0", 400, /twice/],
      ["prompts=a", 400, /prompts/],
      ["dtype=bf16", 400, /dtype/],
      ["name=..%2Fx", 400, /name/],
    ];
    for (const [q, status, re] of cases) {
      const res = await app.request(`/v1/distributions/dd_a/textual_inversion?${q}`);
      assert.equal(res.status, status, q);
      assert.match((await res.json()).error.message, re, q);
    }
    const missing = await app.request("/v1/distributions/dd_b/textual_inversion");
    assert.equal(missing.status, 404);
  } finally {
    await close();
  }
});
