/**
 * Fault class 1: memory that no limit capped. A train or sample request whose estimated peak
 * memory is over the ceiling is a 422 `over_budget` before any work (it used to be accepted up
 * to S = batchSize = 64, about 160 GB), and the estimate is not below what a run measures.
 */
import assert from "node:assert/strict";
import {
  budgetModelFacts,
  estimateSampleBytes,
  estimateTrainBytes,
} from "../../core/engine/budget.ts";
import { SD2_DIR } from "../helpers/tiny_model.ts";
import { b64, fakeDistribution, makeApp, pngs, postJson } from "./_helpers.ts";

const MiB = 2 ** 20;
const EMBEDDED = "core/models/embedded/dd-world-tiny";

Deno.test("estimateTrainBytes() grows with S x batch and K; the defaults fit the default ceiling", async () => {
  for (const dir of [EMBEDDED, SD2_DIR]) {
    const f = await budgetModelFacts(dir);
    const est = (o: Partial<{ K: number; S: number; batchSize: number }>) =>
      estimateTrainBytes(f, { K: 4, M: 2, S: 1, batchSize: 1, ...o });
    assert.ok(est({ S: 2 }) > est({}));
    assert.ok(est({ batchSize: 8 }) > est({ batchSize: 4 }));
    assert.ok(est({ K: 32 }) > est({}));
    assert.ok(est({ K: 32, S: 4, batchSize: 4 }) < 4096 * MiB, dir);
    assert.ok(est({ K: 64, S: 64, batchSize: 64 }) > 4096 * MiB, dir);
    assert.ok(estimateSampleBytes(f, { n: 16 }) > estimateSampleBytes(f, { n: 1 }));
  }
});

Deno.test("POST /v1/distributions over the memory budget is a 422 before any work", async () => {
  const { app, store, close } = await makeApp();
  try {
    const images = [{ base64: b64(pngs(1)[0]!) }, { base64: b64(pngs(2)[1]!) }];
    for (const options of [{ S: 32, batchSize: 32 }, { S: 64, batchSize: 64, K: 64 }]) {
      const t0 = performance.now();
      const res = await app.request("/v1/distributions", postJson({ images, options }));
      const body = await res.json();
      assert.equal(res.status, 422, JSON.stringify(body));
      assert.equal(body.error.code, "over_budget");
      assert.match(body.error.message, /about \d+ MiB .* ceiling of 4096 MiB/);
      assert.ok(performance.now() - t0 < 2000);
    }
    assert.deepEqual(await store.list(""), []);
  } finally {
    await close();
  }
});

Deno.test("DD_MEMORY_BUDGET_MB sets the ceiling for training and sampling", async () => {
  const { app, store, close } = await makeApp({ DD_MEMORY_BUDGET_MB: "200" });
  try {
    await fakeDistribution(store, "dd_a", "tiny-sd2-fixture");
    const images = [{ base64: b64(pngs(1)[0]!) }, { base64: b64(pngs(2)[1]!) }];
    const train = await app.request("/v1/distributions", postJson({ images, options: {} }));
    assert.equal(train.status, 422);
    assert.match((await train.json()).error.message, /ceiling of 200 MiB/);
    const sample = await app.request("/v1/samples", postJson({ distribution: "dd_a", n: 16 }));
    assert.equal(sample.status, 422);
    assert.equal((await sample.json()).error.code, "over_budget");
  } finally {
    await close();
  }
});

Deno.test("a measured training's peak RSS is not above its estimate", async () => {
  const opts = { K: 4, M: 2, S: 2, batchSize: 2, steps: 1 };
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../bench/memory_child.ts", import.meta.url).pathname,
      "train",
      SD2_DIR,
      JSON.stringify(opts),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.ok(out.success);
  const r = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
  const est = estimateTrainBytes(await budgetModelFacts(SD2_DIR), opts) / MiB;
  assert.ok(r.peakMiB <= est, `measured ${r.peakMiB} MiB, estimated ${Math.round(est)} MiB`);
});
