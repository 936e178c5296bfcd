/**
 * core/browser's BrowserSampler, run in Deno with onnxruntime-node standing in for
 * onnxruntime-web (the two share onnxruntime-common's API), against the app's routes via
 * app.request: with the same runtime underneath, the page's code path (model and parameters
 * fetched over HTTP, self-contained ONNX files, storedDistribution, renderDistribution) gives
 * exactly the server's pixels. The real browser is tests/functions/playground/in_browser_test.ts.
 */
import assert from "node:assert/strict";
import * as ortNode from "onnxruntime-node";
import { BrowserSampler } from "../../../core/browser/mod.ts";
import type { OrtWebModule, WebProvider } from "../../../core/onnx/web_runtime.ts";
import { fakeDistribution, makeApp } from "../../functions/_helpers.ts";

Deno.test("BrowserSampler on onnxruntime-node gives the server's exact pixels (tiny SD2 fixture, with a VAE)", async () => {
  const { app, store, deps, close } = await makeApp({ DD_API_KEYS: "k1" });
  try {
    await fakeDistribution(store, "dd_b", "tiny-sd2-fixture");
    const api = async (path: string) => {
      const res = await app.request(path, { headers: { Authorization: "Bearer k1" } });
      if (!res.ok) throw new Error((await res.json()).error.message);
      return res;
    };
    const sampler = await BrowserSampler.load("tiny-sd2-fixture", {
      ort: ortNode as unknown as OrtWebModule,
      provider: "cpu" as WebProvider, // onnxruntime-node's name for its CPU provider
      fetch: api,
    });
    assert.ok(sampler.runtime.has("vaeDecoder"));
    const dist = await sampler.distribution("dd_b");
    assert.equal(dist.K, 3);
    await assert.rejects(
      sampler.sample(dist, { gamma: 1, n: 1, seed: 0, steps: 2, sampler: "low_rank" }),
      /no stored features for the low_rank sampler/,
    );
    const o = { gamma: 1.5, n: 2, seed: 3, steps: 3, sampler: "diagonal" as const };
    const browser = await sampler.sample(dist, o);
    const server = await deps.engine.sample({ distributions: [{ id: "dd_b", weight: 1 }], ...o });
    assert.equal(browser.length, 2);
    for (const [i, img] of browser.entries()) {
      assert.deepEqual(img.data, server[i]!.data, `image ${i}`);
    }
    await assert.rejects(sampler.distribution("dd_missing"), /not found|no distribution/i);
    await sampler.runtime.release();
  } finally {
    await close();
  }
});
