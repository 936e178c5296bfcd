/**
 * The shipped default model, dd-world-tiny (issue 5): its files match models.lock, a short
 * DreamDistribution run on it lowers the loss on a fixed evaluation set, sampling is
 * deterministic per seed. (Its caption fidelity is measured by `deno task model:quality`,
 * too slow for the test suite.)
 */
import assert from "node:assert/strict";
import { trainDistribution } from "../../../core/distribution/train.ts";
import { Engine } from "../../../core/engine/engine.ts";
import { encodePng } from "../../../core/images/encode.ts";
import { parseSchedulerConfig } from "../../../core/schedulers/mod.ts";
import { FsStore } from "../../../core/store/fs_store.ts";
import { DEFAULT_MODEL, resolveModel } from "../../../core/tasks/_models.ts";
import { WORLD_SCHEDULER_CONFIG } from "../../../core/training/world_model.ts";
import { CONCEPTS } from "../../../core/world/mod.ts";

async function withEngine(f: (engine: Engine) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dd-embedded-" });
  const engine = new Engine({
    store: new FsStore(dir),
    resolveModel,
    defaultModel: DEFAULT_MODEL,
    cacheDir: null,
  });
  try {
    await f(engine);
  } finally {
    await engine.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const references = (seed: number) =>
  CONCEPTS["warm-shapes-dark"].referenceImages(seed, 8).map((r, i) => ({
    bytes: encodePng(r.image),
    name: `ref-${i}`,
  }));

Deno.test("the default model is the embedded dd-world-tiny, verified against models.lock", async () => {
  assert.equal(DEFAULT_MODEL, "dd-world-tiny");
  const m = await resolveModel(DEFAULT_MODEL);
  assert.match(m.revision, /^sha256-[0-9a-f]{16}$/);
  await withEngine(async (engine) => {
    const model = await engine.model();
    const info = model.runtime.graphs.info;
    assert.deepEqual({ size: info.latentSize, c: info.latentChannels, L: info.maxLength }, {
      size: 32,
      c: 3,
      L: 16,
    });
    assert.equal(model.runtime.graphs.vaeDecoder, null, "pixel space");
    assert.deepEqual(
      [model.defaultGuidance, model.defaultGuidanceRescale, model.defaultScheduler],
      [3, 0.7, "euler_ancestral"],
      "its own sampler defaults: mode-seeking guidance 3, kept sharp by rescale and Euler-A",
    );
    assert.deepEqual(
      model.schedulerConfig,
      parseSchedulerConfig(WORLD_SCHEDULER_CONFIG),
      "v-prediction on a zero-terminal-SNR schedule, as model:train writes it",
    );
  });
});

Deno.test("a 20-step DreamDistribution run on the shipped model lowers the fixed-set loss", async () => {
  await withEngine(async (engine) => {
    const model = await engine.model();
    const images = CONCEPTS["warm-shapes-dark"].referenceImages(0, 8).map((r) => r.image);
    const result = await trainDistribution(
      {
        runtime: model.runtime,
        tokenizer: model.tokenizer,
        schedulerConfig: model.schedulerConfig,
        images,
      },
      { K: 4, M: 2, S: 2, batchSize: 4, steps: 20, lr: 5e-3, seed: 0 },
      { cacheDir: null },
    );
    const { before, after } = result.evalLoss;
    console.log(`fixed-set loss ${before.toFixed(5)} -> ${after.toFixed(5)} over 20 steps`);
    assert.ok(after < before, `loss ${before} -> ${after}`);
  });
});

Deno.test("sampling the shipped model is deterministic per seed", async () => {
  await withEngine(async (engine) => {
    const dist = await engine.train({
      images: references(1),
      options: { K: 4, M: 2, S: 2, batchSize: 2, steps: 2, lr: 5e-3, seed: 1 },
    });
    const sample = (seed: number) =>
      engine.sample({
        distributions: [{ id: dist.id, weight: 1 }],
        gamma: 1,
        n: 2,
        seed,
        steps: 5,
        guidance: 5,
      });
    const [a, b, c] = [await sample(7), await sample(7), await sample(8)];
    assert.equal(a[0]!.width, 32);
    assert.deepEqual(a.map((i) => i.data), b.map((i) => i.data), "same seed, same pixels");
    assert.notDeepEqual(a.map((i) => i.data), c.map((i) => i.data), "other seed, other pixels");
  });
});
