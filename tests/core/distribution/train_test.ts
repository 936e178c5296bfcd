/**
 * The training code path: its gradient (against PyTorch and finite differences), loss
 * falling, the ortho loss doing its job, checkpoint/resume, and option errors.
 */
import assert from "node:assert/strict";
import { loadOnnxFolder } from "../../../core/models/onnx_folder.ts";
import { buildTrainGraph, TRAIN_INPUTS } from "../../../core/distribution/train_graph.ts";
import { promptFeatures } from "../../../core/distribution/fit.ts";
import { type TrainCheckpoint, trainDistribution } from "../../../core/distribution/train.ts";
import { readTokenTable } from "../../../core/distribution/template.ts";
import { type HostTensor, Session } from "../../../core/onnx/runtime.ts";
import { ModelRuntime } from "../../../core/models/model_runtime.ts";
import { FIXTURES, host, type JsonArray, readJson, relL2 } from "../../helpers/fixtures.ts";
import {
  discImages,
  loadTinySd2,
  tinySchedulerConfig,
  tinyTrainSpec,
  toyTokenizer,
} from "../../helpers/tiny_model.ts";

type DdCase = {
  inputs: Record<string, JsonArray>;
  loss_f64: number;
  grads_f64: { P: JsonArray };
};

Deno.test("train-step graph reproduces the composed objective case of sd-tiny-torch (loss and d/dV)", async () => {
  const cases = await readJson<{ dream_distribution: DdCase[] }>("sd-tiny-torch/cases.json");
  const graphs = await loadOnnxFolder(`${FIXTURES}sd-tiny-torch`, { latentSize: 16 });
  const model = buildTrainGraph(
    graphs,
    tinyTrainSpec({ K: 4, M: 3, batch: 1, afterRows: 12, lambda: 5e-3, sigma: "population" }),
  );
  const s = await Session.create(model);
  for (const c of cases.dream_distribution) {
    const x = c.inputs;
    const after = new Float32Array(12 * 32);
    after.set(Float32Array.from(x.eos_embedding!.data), 0);
    for (let i = 1; i < 12; i++) after.set(Float32Array.from(x.pad_embedding!.data), i * 32);
    const feeds: Record<string, HostTensor> = {
      [TRAIN_INPUTS.ctx]: host(x.P!),
      [TRAIN_INPUTS.before]: {
        dtype: "float32",
        dims: [1, 32],
        data: Float32Array.from(x.bos_embedding!.data),
      },
      [TRAIN_INPUTS.after]: { dtype: "float32", dims: [12, 32], data: after },
      [TRAIN_INPUTS.xT]: host(x.x_t!),
      [TRAIN_INPUTS.timestep]: host(x.timestep!),
      [TRAIN_INPUTS.target]: host(x.eps!),
      [TRAIN_INPUTS.omega]: host(x.omega!),
    };
    const r = await s.run(feeds);
    assert.ok(Math.abs(Number(r.loss!.data[0]) - c.loss_f64) < 1e-5);
    const e = relL2(r.grad_ctx!.data as Float32Array, c.grads_f64.P.data);
    assert.ok(e < 1e-4, `rel L2 ${e}`);
  }
  await s.release();
});

Deno.test("train-step gradient equals central finite differences of the same loss (float32)", async () => {
  const graphs = await loadTinySd2();
  const spec = tinyTrainSpec({ lambda: 0.1, minSnr: true });
  const s = await Session.create(buildTrainGraph(graphs, spec));
  const rnd = (n: number, k: number) =>
    Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.3 + k));
  const f = (dims: number[], data: Float32Array): HostTensor => ({ dtype: "float32", dims, data });
  const ctx = rnd(3 * 2 * 32, 1).map((v) => v * 0.5);
  const feeds = (c: Float32Array): Record<string, HostTensor> => ({
    [TRAIN_INPUTS.ctx]: f([3, 2, 32], c),
    [TRAIN_INPUTS.before]: f([1, 32], rnd(32, 2)),
    [TRAIN_INPUTS.after]: f([74, 32], rnd(74 * 32, 3)),
    [TRAIN_INPUTS.xT]: f([2, 4, 16, 16], rnd(2048, 4)),
    [TRAIN_INPUTS.timestep]: f([2], Float32Array.from([50, 700])),
    [TRAIN_INPUTS.target]: f([2, 4, 16, 16], rnd(2048, 5)),
    [TRAIN_INPUTS.omega]: f([2, 77, 32], rnd(2 * 77 * 32, 6)),
    [TRAIN_INPUTS.weights]: f([2], Float32Array.from([0.7, 1])),
  });
  const r = await s.run(feeds(ctx));
  const grad = r.grad_ctx!.data as Float32Array;
  // Directional derivatives along 4 random directions; h chosen for float32 (loss ~1).
  const h = 1e-2;
  for (let k = 0; k < 4; k++) {
    const dir = rnd(ctx.length, 10 + k);
    const norm = Math.sqrt(dir.reduce((a, v) => a + v * v, 0));
    const at = async (eps: number) =>
      Number((await s.run(feeds(ctx.map((v, i) => v + (eps * dir[i]!) / norm)))).loss!.data[0]);
    const fd = ((await at(h)) - (await at(-h))) / (2 * h);
    const an = grad.reduce((a, g, i) => a + (g * dir[i]!) / norm, 0);
    assert.ok(Math.abs(fd - an) <= 2e-2 * Math.abs(an) + 1e-5, `dir ${k}: fd ${fd} vs ${an}`);
  }
  await s.release();
});

Deno.test("training lowers the loss on a fixed evaluation batch; checkpoint + resume is exact", async () => {
  const graphs = await loadTinySd2();
  const rt = new ModelRuntime(graphs);
  const inputs = {
    runtime: rt,
    tokenizer: toyTokenizer,
    schedulerConfig: await tinySchedulerConfig(),
    images: discImages(6),
  };
  const options = {
    K: 4,
    M: 2,
    S: 2,
    batchSize: 2,
    steps: 50,
    lr: 5e-2,
    seed: 3,
    checkpointEvery: 25,
  };
  const checkpoints: TrainCheckpoint[] = [];
  const full = await trainDistribution(inputs, options, {
    cacheDir: null,
    onCheckpoint: (c) => {
      checkpoints.push(c);
    },
  });
  const { before, after } = full.evalLoss;
  console.log(`fixed-set loss ${before.toFixed(4)} -> ${after.toFixed(4)} over 50 steps`);
  console.log(`per-step loss: ${full.lossCurve.map((v) => v.toFixed(3)).join(" ")}`);
  assert.ok(after < before, "loss on the fixed evaluation set falls");
  assert.equal(checkpoints.length, 2);
  const resumed = await trainDistribution(inputs, options, {
    cacheDir: null,
    resume: checkpoints[0]!,
  });
  assert.deepEqual(resumed.ctx, full.ctx);
  assert.deepEqual(resumed.lossCurve, full.lossCurve);
  await rt.release();
});

Deno.test("trainDistribution refuses bad options before any work", async () => {
  const graphs = await loadTinySd2();
  const rt = new ModelRuntime(graphs);
  const inputs = {
    runtime: rt,
    tokenizer: toyTokenizer,
    schedulerConfig: await tinySchedulerConfig(),
    images: discImages(2),
  };
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ K: 1 }, /K >= 2/],
    [{ M: 0 }, /option M/],
    [{ steps: 0 }, /option steps/],
    [{ template: "a photo" }, /template/],
    [{ template: "{} and {}" }, /exactly one \{\}/],
    [{ lr: -1 }, /option lr/],
    [{ bogus: 1 }, /options|bogus/],
  ];
  for (const [o, re] of bad) {
    await assert.rejects(trainDistribution(inputs, o, { cacheDir: null }), re, JSON.stringify(o));
  }
  await assert.rejects(
    trainDistribution({ ...inputs, images: [] }, {}, { cacheDir: null }),
    /no reference images/,
  );
  await rt.release();
});

Deno.test("the ortho loss (lambda > 0) lowers the mean pairwise |cos| of the K prompt features", async () => {
  const graphs = await loadTinySd2();
  const rt = new ModelRuntime(graphs);
  const inputs = {
    runtime: rt,
    tokenizer: toyTokenizer,
    schedulerConfig: await tinySchedulerConfig(),
    images: discImages(4),
  };
  const K = 4;
  const meanAbsCos = async (lambda: number) => {
    const r = await trainDistribution(inputs, {
      K,
      M: 2,
      S: 2,
      batchSize: 2,
      steps: 30,
      lr: 2e-2,
      lambda,
      seed: 2,
    }, { cacheDir: null });
    const c = await promptFeatures(rt, await readTokenTable(graphs), r.template, r.ctx, K, 2);
    const n = c.length / K;
    const row = (k: number) => c.subarray(k * n, (k + 1) * n);
    const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i]!, 0);
    let total = 0;
    for (let i = 0; i < K; i++) {
      for (let j = i + 1; j < K; j++) {
        total += Math.abs(dot(row(i), row(j))) /
          Math.sqrt(dot(row(i), row(i)) * dot(row(j), row(j)));
      }
    }
    return total / (K * (K - 1) / 2);
  };
  const [without, withOrtho] = [await meanAbsCos(0), await meanAbsCos(1)];
  console.log(
    `mean pairwise |cos|: lambda 0 -> ${without.toFixed(5)}, lambda 1 -> ${withOrtho.toFixed(5)}`,
  );
  assert.ok(withOrtho < without);
  await rt.release();
});
