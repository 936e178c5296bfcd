import assert from "node:assert/strict";
import { Engine } from "../../../core/engine/engine.ts";
import { EngineError } from "../../../core/engine/engine.ts";
import { WorkerEngine } from "../../../core/engine/worker_engine.ts";
import { encodePng } from "../../../core/images/encode.ts";
import { FsStore } from "../../../core/store/fs_store.ts";
import { discImages, SD2_DIR } from "../../helpers/tiny_model.ts";

const TINY = { K: 3, M: 2, S: 2, batchSize: 2, steps: 3 };
const images = discImages(2).map((i, n) => ({ bytes: encodePng(i), name: `r${n}.png` }));

async function withWorkerEngine(f: (e: WorkerEngine, store: FsStore) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "dd-worker-engine-" });
  const store = new FsStore(dir);
  const local = new Engine({
    store,
    resolveModel: () => Promise.resolve({ dir: SD2_DIR, revision: "fixture" }),
    defaultModel: "tiny-sd2-fixture",
  });
  const engine = new WorkerEngine({
    workerUrl: new URL("./_worker_fixture.ts", import.meta.url),
    init: dir,
    local,
  });
  try {
    await f(engine, store);
  } finally {
    await engine.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("WorkerEngine trains and samples in a worker; progress, checkpoints and errors cross back", async () => {
  await withWorkerEngine(async (engine, store) => {
    assert.deepEqual(await engine.model(), { name: "tiny-sd2-fixture", revision: "fixture" });
    const steps: number[] = [];
    const checkpoints: number[] = [];
    const m = await engine.train({ images, options: { ...TINY, checkpointEvery: 2 } }, {
      onProgress: (p) => steps.push(p.step),
      onCheckpoint: (c) => void checkpoints.push(c.step),
    });
    assert.deepEqual(steps, [1, 2, 3]);
    assert.deepEqual(checkpoints, [2]);
    assert.equal((await engine.get(m.id)).manifest.id, m.id);
    assert.deepEqual(await engine.list(), [m.id]);
    assert.ok(await store.exists(`distributions/${m.id}/manifest.json`));
    const pics = await engine.sample(
      {
        distributions: [{ id: m.id, weight: 1 }],
        n: 2,
        steps: 2,
        gamma: 1,
        seed: 1,
      } as Parameters<WorkerEngine["sample"]>[0],
    );
    assert.equal(pics.length, 2);
    assert.ok(pics[0]!.data instanceof Uint8Array && pics[0]!.data.length > 0);
    // A client error keeps its class and code across the boundary.
    await assert.rejects(
      engine.train({ images, options: { ...TINY, K: 1 } }),
      (e) => e instanceof EngineError && e.code === "invalid_options",
    );
  });
});

Deno.test("WorkerEngine: an aborted signal stops training at its next step; nothing is saved", async () => {
  await withWorkerEngine(async (engine, store) => {
    const ctl = new AbortController();
    const reason = new Error("client gone");
    let last = 0;
    const run = engine.train({ images, options: { ...TINY, steps: 5000 } }, {
      signal: ctl.signal,
      onProgress: (p) => {
        last = p.step;
        if (p.step === 2) ctl.abort(reason);
      },
    });
    await assert.rejects(run, (e) => e === reason);
    assert.ok(last < 10, `stopped after step ${last}`);
    assert.deepEqual(await store.list("distributions/"), []);
    // The worker is still usable.
    const m = await engine.train({ images, options: TINY });
    assert.equal(m.lossCurve.length, 3);
  });
});

Deno.test("WorkerEngine: a worker busy setting up an aborted training is replaced; the next call works", async () => {
  await withWorkerEngine(async (engine) => {
    const ctl = new AbortController();
    const reason = new Error("client gone");
    // Aborted while the worker loads the model and builds the graph (no step yet).
    const run = engine.train({ images, options: { ...TINY, steps: 5000 } }, {
      signal: ctl.signal,
      onProgress: () => assert.fail("no step should run"),
    });
    setTimeout(() => ctl.abort(reason), 1);
    await assert.rejects(run, (e) => e === reason);
    const m = await engine.train({ images, options: TINY });
    assert.equal(m.lossCurve.length, 3);
  });
});
