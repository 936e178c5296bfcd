/**
 * DESIGN §4b's method variants: the samplers' statistics against their formulas, the
 * best-prompt assignment, the variant train-step graphs against finite differences, the
 * pooled ortho loss reading the EOS row after a suffix, and the option defaults.
 */
import assert from "node:assert/strict";
import {
  MIXTURE_BANDWIDTH,
  PromptDistribution,
  type SamplerKind,
} from "../../../core/distribution/prompt_distribution.ts";
import { drawSelection, responsibilities } from "../../../core/distribution/best_prompt.ts";
import { buildTrainGraph, TRAIN_INPUTS } from "../../../core/distribution/train_graph.ts";
import { promptFeatures } from "../../../core/distribution/fit.ts";
import { type TrainCheckpoint, trainDistribution } from "../../../core/distribution/train.ts";
import { readTokenTable, templateIds } from "../../../core/distribution/template.ts";
import {
  DEFAULT_SAMPLE_SOFTMIN,
  validateTrainOptions,
} from "../../../core/distribution/train_options.ts";
import { type HostTensor, Session } from "../../../core/onnx/runtime.ts";
import { ModelRuntime } from "../../../core/models/model_runtime.ts";
import { Rng } from "../../../core/random.ts";
import {
  discImages,
  loadTinySd2,
  tinySchedulerConfig,
  tinyTrainSpec,
  toyTokenizer,
} from "../../helpers/tiny_model.ts";

const shape = [1, 3] as const;
const K = 4, n = 3;
// Four prompt features of 3 values each.
const c = Float32Array.from([1, 0, 2, -1, 2, 0, 3, 1, -2, 1, -3, 4]);
const mu = [1, 0, 1]; // column means
const dev = (k: number, j: number) => c[k * n + j]! - mu[j]!;
const cov = (j: number, l: number) => {
  let s = 0;
  for (let k = 0; k < K; k++) s += dev(k, j) * dev(k, l);
  return s;
};

/** Mean and covariance of m draws. */
function moments(d: PromptDistribution, sampler: SamplerKind, m: number) {
  const x = d.sampleMany(m, new Rng(11), sampler);
  const mean = [0, 1, 2].map((j) => {
    let s = 0;
    for (let i = 0; i < m; i++) s += x[i * n + j]!;
    return s / m;
  });
  const covar = (j: number, l: number) => {
    let s = 0;
    for (let i = 0; i < m; i++) s += (x[i * n + j]! - mean[j]!) * (x[i * n + l]! - mean[l]!);
    return s / (m - 1);
  };
  return { mean, covar };
}

Deno.test("samplers: mean and covariance of many draws match each formula", () => {
  const d = PromptDistribution.withFeatures(c, K, shape).scaled(1.5);
  const g2 = 1.5 ** 2, m = 40_000;
  const want: Record<SamplerKind, (j: number, l: number) => number> = {
    // diagonal: gamma^2 sigma^2 on the diagonal (unbiased sigma), 0 elsewhere
    diagonal: (j, l) => (j === l ? (g2 * cov(j, j)) / (K - 1) : 0),
    // low rank: gamma^2 times the sample covariance of the K features
    low_rank: (j, l) => (g2 * cov(j, l)) / (K - 1),
    // mixture: the spread of the K centres plus the kernel's low-rank covariance
    mixture: (j, l) => cov(j, l) / K + (g2 * MIXTURE_BANDWIDTH ** 2 * cov(j, l)) / (K - 1),
  };
  for (const sampler of ["diagonal", "low_rank", "mixture"] as const) {
    const { mean, covar } = moments(d, sampler, m);
    for (let j = 0; j < n; j++) {
      assert.ok(Math.abs(mean[j]! - mu[j]!) < 0.05, `${sampler} mean[${j}] ${mean[j]}`);
      for (let l = 0; l < n; l++) {
        const w = want[sampler](j, l);
        // Six standard errors of a sample covariance (Gaussian approximation).
        const se = Math.sqrt((want[sampler](j, j) * want[sampler](l, l) + w * w) / m);
        assert.ok(
          Math.abs(covar(j, l) - w) < 6 * se,
          `${sampler} cov[${j}][${l}] ${covar(j, l)} vs ${w}`,
        );
      }
    }
  }
});

Deno.test("samplers: gamma 0 gives mu (diagonal, low rank) or exactly the K prompts (mixture)", () => {
  const d = PromptDistribution.withFeatures(c, K, shape).scaled(0);
  const rng = new Rng(3);
  assert.deepEqual([...d.sample(rng, "low_rank")], mu);
  const prompts = new Set(
    Array.from({ length: K }, (_, k) => [...c.subarray(k * n, k * n + n)].join()),
  );
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const s = [...d.sample(rng, "mixture")].map((v) => Math.round(v * 1e5) / 1e5).join();
    assert.ok(prompts.has(s), s);
    seen.add(s);
  }
  assert.equal(seen.size, K, "every prompt is picked");
});

Deno.test("samplers: low rank and mixture refuse a distribution without features", () => {
  const d = new PromptDistribution(new Float32Array(3), new Float32Array(3), shape);
  assert.throws(() => d.sample(new Rng(1), "low_rank"), /needs the prompt features/);
  assert.doesNotThrow(() => d.sample(new Rng(1), "diagonal"));
});

Deno.test("mix keeps the features: weight 1 on one input samples like it alone", () => {
  const a = PromptDistribution.withFeatures(c, K, shape);
  const b = PromptDistribution.withFeatures(c.map((v) => v + 10), K, shape);
  const only = PromptDistribution.mix([a, b], [1, 0]).scaled(0);
  const prompts = new Set(
    Array.from({ length: K }, (_, k) => [...c.subarray(k * n, k * n + n)].join()),
  );
  const rng = new Rng(5);
  for (let i = 0; i < 50; i++) {
    const s = [...only.sample(rng, "mixture")].map((v) => Math.round(v * 1e5) / 1e5).join();
    assert.ok(prompts.has(s), `weight 0 on b: ${s} is one of a's prompts`);
  }
  const half = PromptDistribution.mix([a, b], [0.5, 0.5]);
  assert.equal(half.spread!.pick.length, 2 * K);
  assert.ok(Math.abs(half.spread!.pick.reduce((x, y) => x + y, 0) - 1) < 1e-6);
});

Deno.test("responsibilities: a softmin of standardised losses, balanced over prompts", () => {
  // Reference 0 prefers prompt 0, reference 1 prompt 1; losses on different scales.
  const r = responsibilities(Float32Array.from([1, 3, 30, 10]), 2, 2, 0.5);
  for (const row of [0, 1]) assert.ok(Math.abs(r[row * 2]! + r[row * 2 + 1]! - 1) < 1e-12);
  assert.ok(r[0]! > 0.9 && r[3]! > 0.9, `${[...r]}`);
  // All references prefer prompt 0: balancing still gives prompt 1 half of the mass.
  const all = responsibilities(Float32Array.from([1, 2, 1, 2, 1, 2, 1, 2]), 4, 2, 0.5);
  let col1 = 0;
  for (let i = 0; i < 4; i++) col1 += all[i * 2 + 1]!;
  assert.ok(Math.abs(col1 - 2) < 0.2, `prompt 1 explains ${col1} of 4 references`);
  // One-hot choice from the cumulative row.
  const sel = drawSelection(Float64Array.from([0.25, 0.75]), 2, [0, 0], {
    uniform: (() => {
      const u = [0.1, 0.9];
      return () => u.shift()!;
    })(),
  });
  assert.deepEqual([...sel], [1, 0, 0, 1]);
});

Deno.test("train options: pooled ortho defaults to the authors' lambda 1e-3, paper to 5e-3", () => {
  assert.equal(validateTrainOptions({ ortho: "pooled" }, 4).lambda, 1e-3);
  assert.equal(validateTrainOptions({}, 4).lambda, 5e-3);
  assert.equal(validateTrainOptions({ ortho: "pooled", lambda: 0.2 }, 4).lambda, 0.2);
  const ti = validateTrainOptions({ mode: "textual_inversion", objective: "best_prompt" }, 4);
  assert.deepEqual([ti.K, ti.objective, ti.lambda], [1, "paper", 0]);
  assert.throws(() => validateTrainOptions({ bestPromptTemperature: 0 }, 4), /bestPromptTemp/);
});

const f = (dims: number[], data: Float32Array): HostTensor => ({ dtype: "float32", dims, data });
const rnd = (len: number, k: number) =>
  Float32Array.from({ length: len }, (_, i) => Math.sin(i * 1.3 + k));

/** The loss's directional derivative along three directions: analytic vs central differences. */
async function assertGradMatchesFd(
  lossAt: (x: Float32Array) => Promise<number>,
  ctx: Float32Array,
  grad: Float32Array,
): Promise<void> {
  const h = 1e-2;
  for (let k = 0; k < 3; k++) {
    const dir = rnd(ctx.length, 10 + k);
    const norm = Math.sqrt(dir.reduce((a, v) => a + v * v, 0));
    const at = (eps: number) => lossAt(ctx.map((v, i) => v + (eps * dir[i]!) / norm));
    const fd = ((await at(h)) - (await at(-h))) / (2 * h);
    const an = grad.reduce((a, g, i) => a + (g * dir[i]!) / norm, 0);
    assert.ok(Math.abs(fd - an) <= 2e-2 * Math.abs(an) + 1e-5, `dir ${k}: fd ${fd} vs ${an}`);
  }
}

Deno.test("omega per image + best-prompt graph: gradient equals central finite differences", async () => {
  const graphs = await loadTinySd2();
  const [Kp, M, S, B] = [3, 2, 2, 2];
  const s = await Session.create(
    buildTrainGraph(
      graphs,
      tinyTrainSpec({ lambda: 0.1, omegaPerImage: true, bestPromptWeight: 0.7 }),
    ),
  );
  const ctx = rnd(Kp * M * 32, 1).map((v) => v * 0.5);
  const feeds = (x: Float32Array): Record<string, HostTensor> => ({
    [TRAIN_INPUTS.ctx]: f([Kp, M, 32], x),
    [TRAIN_INPUTS.before]: f([1, 32], rnd(32, 2)),
    [TRAIN_INPUTS.after]: f([74, 32], rnd(74 * 32, 3)),
    [TRAIN_INPUTS.xT]: f([B, 4, 16, 16], rnd(B * 1024, 4)),
    [TRAIN_INPUTS.timestep]: f([B], Float32Array.from([50, 700])),
    [TRAIN_INPUTS.target]: f([B, 4, 16, 16], rnd(B * 1024, 5)),
    [TRAIN_INPUTS.omega]: f([S * B, 77, 32], rnd(S * B * 77 * 32, 6)),
    [TRAIN_INPUTS.select]: f([B, Kp], Float32Array.from([0, 0, 1, 1, 0, 0])),
  });
  const r = await s.run(feeds(ctx));
  const grad = r.grad_ctx!.data as Float32Array;
  // The best-prompt term is really in the loss: it differs from the paper part.
  assert.ok(Math.abs(Number(r.loss!.data[0]) - Number(r.diffusion!.data[0])) > 1e-4);
  await assertGradMatchesFd(async (x) => Number((await s.run(feeds(x))).loss!.data[0]), ctx, grad);
  await s.release();
});

Deno.test("pooled ortho reads the EOS row after a template's suffix, not the first suffix token", async () => {
  const graphs = await loadTinySd2();
  const rt = new ModelRuntime(graphs);
  const [Kp, M] = [3, 2];
  const ids = templateIds(toyTokenizer, "a {} at night", M, 77, "options");
  assert.equal(ids.after.indexOf(toyTokenizer.eosId), 2, "two suffix tokens");
  const table = await readTokenTable(graphs);
  const ctx = rnd(Kp * M * 32, 7);
  const s = await Session.create(buildTrainGraph(graphs, {
    K: Kp,
    M,
    S: 1,
    batch: 1,
    beforeRows: ids.before.length,
    afterRows: ids.after.length,
    suffixRows: 2,
    lambda: 1,
    sigma: "unbiased",
    ortho: "pooled",
    minSnr: false,
    omegaPerImage: false,
    bestPromptWeight: 0,
    lowRank: false,
    sampleSoftmin: 0,
  }));
  const rows = (list: number[]) => {
    const out = new Float32Array(list.length * 32);
    list.forEach((id, i) => out.set(table.subarray(id * 32, id * 32 + 32), i * 32));
    return out;
  };
  const r = await s.run({
    [TRAIN_INPUTS.ctx]: f([Kp, M, 32], ctx),
    [TRAIN_INPUTS.before]: f([ids.before.length, 32], rows(ids.before)),
    [TRAIN_INPUTS.after]: f([ids.after.length, 32], rows(ids.after)),
    [TRAIN_INPUTS.xT]: f([1, 4, 16, 16], rnd(1024, 4)),
    [TRAIN_INPUTS.timestep]: f([1], Float32Array.from([300])),
    [TRAIN_INPUTS.target]: f([1, 4, 16, 16], rnd(1024, 5)),
    [TRAIN_INPUTS.omega]: f([1, 77, 32], rnd(77 * 32, 6)),
  });
  const feats = await promptFeatures(rt, table, ids, ctx, Kp, M);
  const pooled = (pos: number) => {
    const v = (k: number) => feats.subarray((k * 77 + pos) * 32, (k * 77 + pos + 1) * 32);
    let total = 0;
    for (let i = 0; i < Kp; i++) {
      for (let j = 0; j < Kp; j++) {
        if (i === j) continue;
        let dot = 0, ni = 0, nj = 0;
        for (let x = 0; x < 32; x++) {
          dot += v(i)[x]! * v(j)[x]!;
          ni += v(i)[x]! ** 2;
          nj += v(j)[x]! ** 2;
        }
        total += dot ** 2 / (ni * nj);
      }
    }
    return total / (Kp * (Kp - 1));
  };
  const eos = ids.before.length + M + 2;
  const got = Number(r.ortho!.data[0]);
  assert.ok(Math.abs(got - pooled(eos)) < 1e-5, `ortho ${got} vs EOS ${pooled(eos)}`);
  assert.ok(Math.abs(got - pooled(eos - 2)) > 1e-4, "not the first suffix token");
  await s.release();
  await rt.release();
});

Deno.test("best-prompt training runs, keeps the features, and lowers the fixed-set loss", async () => {
  const graphs = await loadTinySd2();
  const rt = new ModelRuntime(graphs);
  const r = await trainDistribution({
    runtime: rt,
    tokenizer: toyTokenizer,
    schedulerConfig: await tinySchedulerConfig(),
    images: discImages(4),
  }, {
    K: 3,
    M: 2,
    S: 1,
    batchSize: 2,
    steps: 30,
    lr: 5e-2,
    seed: 1,
    objective: "best_prompt",
    omega: "per_image",
    bestPromptRefresh: 10,
  }, { cacheDir: null });
  assert.ok(r.evalLoss.after < r.evalLoss.before, `${r.evalLoss.before} -> ${r.evalLoss.after}`);
  assert.equal(r.features.length, 3 * 77 * 32);
  assert.ok(r.distribution.spread, "the distribution keeps its prompt features");
  await rt.release();
});

Deno.test("best-prompt training resumed between two refreshes continues exactly", async () => {
  const graphs = await loadTinySd2();
  const rt = new ModelRuntime(graphs);
  const inputs = {
    runtime: rt,
    tokenizer: toyTokenizer,
    schedulerConfig: await tinySchedulerConfig(),
    images: discImages(3),
  };
  const options = {
    K: 2,
    M: 1,
    S: 1,
    batchSize: 2,
    steps: 12,
    lr: 5e-2,
    seed: 2,
    objective: "best_prompt" as const,
    bestPromptRefresh: 5,
    checkpointEvery: 7, // between the refreshes at steps 5 and 10
  };
  const saved: TrainCheckpoint[] = [];
  const full = await trainDistribution(inputs, options, {
    cacheDir: null,
    onCheckpoint: (c) => {
      saved.push(c);
    },
  });
  assert.equal(saved[0]!.responsibilities?.length, 3 * 2);
  const resumed = await trainDistribution(inputs, options, { cacheDir: null, resume: saved[0]! });
  assert.deepEqual(resumed.ctx, full.ctx);
  await rt.release();
});

Deno.test("low-rank training samples: c~ = mu + w·(c - mu)/sqrt(K-1), and the gradient equals finite differences", async (t) => {
  const graphs = await loadTinySd2();
  const [Kp, M, S, B] = [3, 2, 2, 2];
  const s = await Session.create(
    buildTrainGraph(graphs, tinyTrainSpec({ bestPromptWeight: 1, lowRank: true })),
  );
  const ctx = rnd(Kp * M * 32, 1).map((v) => v * 0.5);
  const feeds = (x: Float32Array, w: Float32Array, sel: number[]): Record<string, HostTensor> => ({
    [TRAIN_INPUTS.ctx]: f([Kp, M, 32], x),
    [TRAIN_INPUTS.before]: f([1, 32], rnd(32, 2)),
    [TRAIN_INPUTS.after]: f([74, 32], rnd(74 * 32, 3)),
    // Both images at the same timestep and target, so every row of the batch is comparable.
    [TRAIN_INPUTS.xT]: f(
      [B, 4, 16, 16],
      Float32Array.from({ length: B * 1024 }, (_, i) => Math.sin((i % 1024) * 0.7)),
    ),
    [TRAIN_INPUTS.timestep]: f([B], Float32Array.from([400, 400])),
    [TRAIN_INPUTS.target]: f(
      [B, 4, 16, 16],
      Float32Array.from({ length: B * 1024 }, (_, i) => Math.cos((i % 1024) * 0.3)),
    ),
    [TRAIN_INPUTS.omega]: f([S, Kp], w),
    [TRAIN_INPUTS.select]: f([B, Kp], Float32Array.from(sel)),
  });
  await t.step("w = sqrt(K-1)·e_k draws exactly prompt k", async () => {
    // With c~ = c_1 for every sample and prompt 1 selected for every image, the eq. 3 term
    // and the best-prompt term are the same number: loss = 2 · diffusion.
    const r2 = Math.SQRT2;
    const r = await s.run(feeds(ctx, Float32Array.from([0, r2, 0, 0, r2, 0]), [0, 1, 0, 0, 1, 0]));
    const [loss, diffusion] = [Number(r.loss!.data[0]), Number(r.diffusion!.data[0])];
    assert.ok(Math.abs(loss - 2 * diffusion) <= 1e-5 * loss, `${loss} vs 2 x ${diffusion}`);
    // Another prompt drawn: the two terms differ, so the identity above is not vacuous.
    const o = await s.run(feeds(ctx, Float32Array.from([r2, 0, 0, r2, 0, 0]), [0, 1, 0, 0, 1, 0]));
    assert.ok(Math.abs(Number(o.loss!.data[0]) - 2 * Number(o.diffusion!.data[0])) > 1e-4);
    // w = 0 draws mu: the mean of the three prompts' features, not any one of them.
    const z = await s.run(feeds(ctx, new Float32Array(S * Kp), [1, 0, 0, 1, 0, 0]));
    assert.ok(Math.abs(Number(z.loss!.data[0]) - 2 * Number(z.diffusion!.data[0])) > 1e-4);
  });
  await t.step("gradient equals central finite differences", async () => {
    const w = rnd(S * Kp, 6);
    const sel = [0, 0, 1, 1, 0, 0];
    const grad = (await s.run(feeds(ctx, w, sel))).grad_ctx!.data as Float32Array;
    const loss = async (x: Float32Array) => Number((await s.run(feeds(x, w, sel))).loss!.data[0]);
    await assertGradMatchesFd(loss, ctx, grad);
  });
  await s.release();
});

Deno.test("sample soft-min: the loss is the soft-min of the S samples' losses, and its gradient equals finite differences", async (t) => {
  const graphs = await loadTinySd2();
  const [Kp, M] = [3, 2];
  const spec = (S: number, batch: number, sampleSoftmin: number) =>
    tinyTrainSpec({ S, batch, sampleSoftmin });
  const ctx = rnd(Kp * M * 32, 1).map((v) => v * 0.5);
  const omega = rnd(2 * 77 * 32, 6).map((v) => 3 * v);
  const feeds = (B: number, x: Float32Array, om: Float32Array): Record<string, HostTensor> => ({
    [TRAIN_INPUTS.ctx]: f([Kp, M, 32], x),
    [TRAIN_INPUTS.before]: f([1, 32], rnd(32, 2)),
    [TRAIN_INPUTS.after]: f([74, 32], rnd(74 * 32, 3)),
    [TRAIN_INPUTS.xT]: f([B, 4, 16, 16], rnd(B * 1024, 4)),
    [TRAIN_INPUTS.timestep]: f([B], Float32Array.from([300, 700].slice(0, B))),
    [TRAIN_INPUTS.target]: f([B, 4, 16, 16], rnd(B * 1024, 5)),
    [TRAIN_INPUTS.omega]: f([om.length / (77 * 32), 77, 32], om),
  });
  await t.step("value: m - T log mean_s exp(-(L_s - m)/T), T = tau m", async () => {
    const one = await Session.create(buildTrainGraph(graphs, spec(1, 1, 0)));
    const L = [];
    for (let s = 0; s < 2; s++) {
      const om = omega.subarray(s * 77 * 32, (s + 1) * 77 * 32);
      L.push(Number((await one.run(feeds(1, ctx, om))).loss!.data[0]));
    }
    await one.release();
    assert.ok(Math.abs(L[0]! - L[1]!) > 1e-4 * L[0]!, "the two samples' losses differ");
    for (const tau of [0.01, 0.1]) {
      const two = await Session.create(buildTrainGraph(graphs, spec(2, 1, tau)));
      const r = await two.run(feeds(1, ctx, omega));
      await two.release();
      const m = (L[0]! + L[1]!) / 2, T = tau * m;
      const want = m - T * Math.log((Math.exp(-(L[0]! - m) / T) + Math.exp(-(L[1]! - m) / T)) / 2);
      const got = Number(r.loss!.data[0]);
      assert.ok(Math.abs(got - want) <= 1e-5 * want, `tau ${tau}: ${got} vs ${want}`);
      assert.ok(Math.abs(Number(r.diffusion!.data[0]) - m) <= 1e-5 * m, "diffusion stays the mean");
      assert.ok(got < m && got >= Math.min(...L), "between the best sample and the mean");
    }
  });
  await t.step("gradient equals central finite differences", async () => {
    const s = await Session.create(buildTrainGraph(graphs, spec(2, 2, 0.05)));
    const grad = (await s.run(feeds(2, ctx, omega))).grad_ctx!.data as Float32Array;
    const loss = async (x: Float32Array) => Number((await s.run(feeds(2, x, omega))).loss!.data[0]);
    await assertGradMatchesFd(loss, ctx, grad);
    await s.release();
  });
  await t.step("options: the product default; Textual Inversion has none", () => {
    assert.equal(validateTrainOptions({ K: 4 }, 4).sampleSoftmin, DEFAULT_SAMPLE_SOFTMIN);
    assert.equal(validateTrainOptions({ sampleSoftmin: 0, K: 4 }, 4).sampleSoftmin, 0);
    assert.equal(validateTrainOptions({ sampleSoftmin: 0.05, K: 4 }, 4).sampleSoftmin, 0.05);
    assert.throws(() => validateTrainOptions({ sampleSoftmin: -1, K: 4 }, 4), /sampleSoftmin/);
    assert.equal(
      validateTrainOptions({ mode: "textual_inversion", sampleSoftmin: 0.1 }, 4).sampleSoftmin,
      0,
    );
  });
});
