/**
 * Learning a prompt distribution (DreamDistribution §3, Algorithm 1): AdamW on the soft
 * prompts V [K, M, d] with gradients from the train-step graph (train_graph.ts). Textual
 * Inversion is the same loop with K = 1 and sigma = 0.
 *
 * Reproducibility: step s draws its images, timesteps, noise and omega from
 * `new Rng(seed).fork(s)`, so a run resumed from a checkpoint continues exactly.
 *
 * @module
 */
import { flipHorizontal, preprocessImage, type RgbImage } from "../images/mod.ts";
import { Session } from "../onnx/mod.ts";
import { AdamW, type AdamWState, runSteps, type TrainProgress } from "../optim/mod.ts";
import type { ModelRuntime } from "../models/mod.ts";
import { Rng } from "../random.ts";
import {
  addNoise,
  minSnrWeights,
  type SchedulerConfig,
  trainingTarget,
} from "../schedulers/mod.ts";
import { DistributionInputError } from "./errors.ts";
import { distributionOfFeatures as distributionOf, promptFeatures } from "./fit.ts";
import type { PromptDistribution } from "./prompt_distribution.ts";
import {
  embedRows,
  readTokenTable,
  type TemplateIds,
  templateIds,
  type TemplateTokenizer,
} from "./template.ts";
import { drawSelection, promptLossTable, responsibilities } from "./best_prompt.ts";
import { loadOrBuildTrainGraph, TRAIN_INPUTS, type TrainGraphSpec } from "./train_graph.ts";
import {
  type TrainOptions,
  type TrainOptionsInput,
  validateTrainOptions,
} from "./train_options.ts";

export type { TrainProgress } from "../optim/mod.ts";

/** A resumable snapshot of a run. */
export interface TrainCheckpoint {
  step: number;
  ctx: Float32Array;
  adam: AdamWState;
  lossCurve: number[];
  /**
   * The best-prompt responsibilities in force [references, K] (the best-prompt objective only),
   * so that a resumed run continues exactly between two refreshes.
   */
  responsibilities?: number[];
}

/** The distribution learned so far, for previews. */
export interface TrainPreview {
  /** Steps done. */
  step: number;
  steps: number;
  distribution: PromptDistribution;
}

/** Callbacks and controls of a run. */
export interface TrainHooks {
  onProgress?: (p: TrainProgress) => void;
  /** Steps between two {@linkcode TrainHooks.onPreview} calls (0 or absent: none). */
  previewEvery?: number;
  /** Called every `previewEvery` steps with the current distribution (awaited). */
  onPreview?: (p: TrainPreview) => Promise<void> | void;
  signal?: AbortSignal;
  /** Called every `options.checkpointEvery` steps. */
  onCheckpoint?: (c: TrainCheckpoint) => Promise<void> | void;
  /** Resume from this snapshot. */
  resume?: TrainCheckpoint;
  /** Directory for cached train-step graphs; null disables the cache. */
  cacheDir?: string | null;
}

/** The learned distribution and what the run measured. */
export interface TrainResult {
  ctx: Float32Array;
  /** The K prompts' text features c [K, L, d] in the training template. */
  features: Float32Array;
  distribution: PromptDistribution;
  template: TemplateIds;
  lossCurve: number[];
  /** Mean loss on a fixed evaluation set before and after training (NaN before on resume). */
  evalLoss: { before: number; after: number };
  options: TrainOptions;
  timings: {
    graphMs: number;
    graphCached: boolean;
    ortMs: number;
    optimizerMs: number;
    totalMs: number;
  };
}

/** Everything a run needs besides its options. */
export interface TrainInputs {
  runtime: ModelRuntime;
  tokenizer: TemplateTokenizer;
  schedulerConfig: SchedulerConfig;
  images: RgbImage[];
}

/** Reference latents x0 (scaled), computed once per run. */
async function referenceLatents(
  rt: ModelRuntime,
  images: RgbImage[],
  flip: boolean,
): Promise<Float32Array[]> {
  const { latentSize, vaeScale, scalingFactor } = rt.graphs.info;
  const size = latentSize * vaeScale;
  const all = flip ? [...images, ...images.map(flipHorizontal)] : images;
  const out: Float32Array[] = [];
  for (const img of all) {
    const lat = await rt.encode(preprocessImage(img, size), 1);
    out.push(lat.map((v) => v * scalingFactor));
  }
  return out;
}

function initialContext(o: TrainOptions, table: Float32Array, d: number, tok: TemplateTokenizer) {
  const rng = new Rng(o.seed).fork("init");
  const ctx = rng.normals(o.K * o.M * d).map((v) => v * o.initStd);
  if (o.initWords) {
    const ids = tok.encode(o.initWords);
    if (ids.length === 0) throw new DistributionInputError("options", "initWords gives no tokens");
    const rows = embedRows(table, d, ids);
    // Each prompt starts from the words' embeddings (cycled over M), plus the small noise.
    for (let k = 0; k < o.K; k++) {
      for (let m = 0; m < o.M; m++) {
        const src = (m % ids.length) * d;
        for (let j = 0; j < d; j++) ctx[(k * o.M + m) * d + j]! += rows[src + j]!;
      }
    }
  }
  return ctx;
}

/**
 * The largest magnitude a learned value may have: CLIP text features and token embeddings are
 * of order 1 to 100, so anything past this is a diverged training, never saved.
 */
export const MAX_ABS_VALUE = 1e6;

/** A training that went non-finite or absurd: the caller's options are the cause. */
function diverged(step: number, what: string): DistributionInputError {
  return new DistributionInputError(
    "options",
    `training diverged at step ${step + 1}: ${what}; lower lr, lambda, initStd or ` +
      "bestPromptWeight (nothing was saved)",
  );
}

/**
 * Learns a prompt distribution from reference images.
 * @throws DistributionInputError (kind "options") for invalid options, template or
 *   initWords; the signal's reason when `hooks.signal` aborts (checked before every step).
 */
export async function trainDistribution(
  inputs: TrainInputs,
  options: Partial<TrainOptionsInput>,
  hooks: TrainHooks = {},
): Promise<TrainResult> {
  const t0 = performance.now();
  const o = validateTrainOptions(options, inputs.images.length);
  const rt = inputs.runtime;
  const { maxLength: L, hiddenSize: d, latentChannels: C, latentSize: h } = rt.graphs.info;
  const ids = templateIds(inputs.tokenizer, o.template, o.M, L, "options");
  const table = await readTokenTable(rt.graphs);
  const latents = await referenceLatents(rt, inputs.images, o.flip);
  const sigmaMode = o.mode === "textual_inversion" ? "none" : o.sigma;
  const spec: TrainGraphSpec = {
    K: o.K,
    M: o.M,
    S: o.S,
    batch: o.batchSize,
    beforeRows: ids.before.length,
    afterRows: ids.after.length,
    suffixRows: ids.after.indexOf(inputs.tokenizer.eosId),
    omegaPerImage: o.omega === "per_image",
    bestPromptWeight: o.objective === "best_prompt" ? o.bestPromptWeight : 0,
    lowRank: o.mode !== "textual_inversion" && o.trainSampler === "low_rank",
    sampleSoftmin: o.sampleSoftmin, // validateTrainOptions sets 0 for Textual Inversion
    lambda: o.mode === "textual_inversion" ? 0 : o.lambda,
    sigma: sigmaMode,
    ortho: o.ortho,
    minSnr: o.minSnrGamma !== null,
  };
  const tg = performance.now();
  const built = await loadOrBuildTrainGraph(rt.graphs, spec, hooks.cacheDir);
  const graphMs = performance.now() - tg;
  const session = await Session.create(built.model, rt.options);
  const before = embedRows(table, d, ids.before);
  const after = embedRows(table, d, ids.after);
  const ctx = hooks.resume?.ctx.slice() ?? initialContext(o, table, d, inputs.tokenizer);
  const opt = new AdamW(ctx.length, {
    lr: o.lr,
    weightDecay: o.weightDecay,
    maxGradNorm: o.maxGradNorm,
  });
  if (hooks.resume) opt.state = structuredClone(hooks.resume.adam);
  const lossCurve = [...(hooks.resume?.lossCurve ?? [])];
  const lat = C * h * h;
  const T = inputs.schedulerConfig.num_train_timesteps;
  const omegaRows = spec.omegaPerImage ? o.S * o.batchSize : o.S;
  const best = spec.bestPromptWeight > 0;
  // Softmin responsibilities [references, K]; uniform until the first refresh.
  let resp: Float64Array = hooks.resume?.responsibilities?.length === latents.length * o.K
    ? Float64Array.from(hooks.resume.responsibilities)
    : new Float64Array(latents.length * o.K).fill(1 / o.K);
  // A resumed run without stored responsibilities refreshes them at once.
  let stale = best && !!hooks.resume && !hooks.resume.responsibilities;
  const makeFeeds = (rng: Rng): Parameters<Session["run"]>[0] => {
    const x0 = new Float32Array(o.batchSize * lat);
    const t = new Float32Array(o.batchSize);
    const refs: number[] = [];
    for (let b = 0; b < o.batchSize; b++) {
      refs.push(Math.floor(rng.uniform() * latents.length));
      x0.set(latents[refs[b]!]!, b * lat);
      t[b] = Math.floor(rng.uniform() * T);
    }
    const noise = rng.normals(x0.length);
    const feeds: Parameters<Session["run"]>[0] = {
      [TRAIN_INPUTS.ctx]: { dtype: "float32", dims: [o.K, o.M, d], data: ctx },
      [TRAIN_INPUTS.before]: { dtype: "float32", dims: [ids.before.length, d], data: before },
      [TRAIN_INPUTS.after]: { dtype: "float32", dims: [ids.after.length, d], data: after },
      [TRAIN_INPUTS.xT]: {
        dtype: "float32",
        dims: [o.batchSize, C, h, h],
        data: addNoise(inputs.schedulerConfig, x0, noise, t),
      },
      [TRAIN_INPUTS.timestep]: { dtype: "float32", dims: [o.batchSize], data: t },
      [TRAIN_INPUTS.target]: {
        dtype: "float32",
        dims: [o.batchSize, C, h, h],
        data: trainingTarget(inputs.schedulerConfig, x0, noise, t),
      },
      [TRAIN_INPUTS.omega]: {
        dtype: "float32",
        dims: spec.lowRank ? [omegaRows, o.K] : [omegaRows, L, d],
        data: rng.normals(omegaRows * (spec.lowRank ? o.K : L * d)),
      },
    };
    if (best) {
      feeds[TRAIN_INPUTS.select] = {
        dtype: "float32",
        dims: [o.batchSize, o.K],
        data: drawSelection(resp, o.K, refs, rng.fork("select")),
      };
    }
    if (o.minSnrGamma !== null) {
      feeds[TRAIN_INPUTS.weights] = {
        dtype: "float32",
        dims: [o.batchSize],
        data: minSnrWeights(inputs.schedulerConfig, t, o.minSnrGamma),
      };
    }
    return feeds;
  };
  // A fixed evaluation set (4 batches) gives a loss comparable across steps, unlike the
  // per-step loss, whose timesteps and noise change every step.
  const evalFeeds = Array.from(
    { length: 4 },
    (_, i) => makeFeeds(new Rng(o.seed).fork(`eval${i}`)),
  );
  const evalLoss = async () => {
    let total = 0;
    for (const f of evalFeeds) {
      total += Number(
        (await session.run({
          ...f,
          [TRAIN_INPUTS.ctx]: { dtype: "float32", dims: [o.K, o.M, d], data: ctx },
        }, ["loss"])).loss!.data[0],
      );
    }
    return total / evalFeeds.length;
  };
  const evalBefore = hooks.resume ? NaN : await evalLoss();
  let evalAfter = NaN, ortMs = 0, optimizerMs = 0;
  try {
    ({ ortMs, optimizerMs } = await runSteps({
      session,
      outputs: ["loss", "grad_ctx"],
      groups: [{
        values: ctx,
        optimizer: opt,
        gradient: (out) => out.grad_ctx!.data as Float32Array,
      }],
      first: hooks.resume?.step ?? 0,
      end: o.steps,
      lossCurve,
      signal: hooks.signal,
      beforeStep: async (step) => {
        if (best && (step % o.bestPromptRefresh === 0 || stale)) {
          stale = false;
          const c = await promptFeatures(rt, table, ids, ctx, o.K, o.M);
          const losses = await promptLossTable(rt, inputs.schedulerConfig, latents, c, o.K, o.seed);
          resp = responsibilities(losses, latents.length, o.K, o.bestPromptTemperature);
        }
      },
      feeds: (step) => makeFeeds(new Rng(o.seed).fork(step)),
      checkLoss: (step, loss) => {
        if (!Number.isFinite(loss)) throw diverged(step, `the loss is ${loss}`);
      },
      nonFiniteGradient: (step) => diverged(step, "the gradient is not finite"),
      onProgress: hooks.onProgress,
      afterStep: async (done) => {
        const every = hooks.previewEvery ?? 0;
        if (hooks.onPreview && every > 0 && done % every === 0) {
          const c = await promptFeatures(rt, table, ids, ctx, o.K, o.M);
          const distribution = distributionOf(rt, c, o.K, sigmaMode);
          await hooks.onPreview({ step: done, steps: o.steps, distribution });
        }
        if (hooks.onCheckpoint && o.checkpointEvery > 0 && done % o.checkpointEvery === 0) {
          await hooks.onCheckpoint({
            step: done,
            ctx: ctx.slice(),
            adam: structuredClone(opt.state),
            lossCurve: [...lossCurve],
            ...(best ? { responsibilities: Array.from(resp) } : {}),
          });
        }
      },
    }));
    evalAfter = await evalLoss();
  } finally {
    await session.release();
  }
  const features = await promptFeatures(rt, table, ids, ctx, o.K, o.M);
  const distribution = distributionOf(rt, features, o.K, sigmaMode);
  for (
    const [name, data] of [["ctx", ctx], ["mu", distribution.mu], ["sigma", distribution.sigma]]
  ) {
    const bad = (data as Float32Array).findIndex((v) => !(Math.abs(v) <= MAX_ABS_VALUE));
    if (bad >= 0) throw diverged(o.steps - 1, `${name}[${bad}] is ${(data as Float32Array)[bad]}`);
  }
  return {
    ctx,
    features,
    distribution,
    template: ids,
    lossCurve,
    evalLoss: { before: evalBefore, after: evalAfter },
    options: o,
    timings: {
      graphMs,
      graphCached: built.cached,
      ortMs,
      optimizerMs,
      totalMs: performance.now() - t0,
    },
  };
}
