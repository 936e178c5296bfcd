/**
 * Trains the embedded default model from scratch on the procedural shape world:
 * captions → text encoder → pixel-space UNet, the target that the schedule's prediction type
 * names (v on a zero-terminal-SNR schedule, see `WORLD_SCHEDULER_CONFIG`),
 * gradients from core/autodiff w.r.t. every weight, AdamW in TypeScript, an exponential
 * moving average of the weights for sampling, and 10% caption dropout so classifier-free
 * guidance works. Reproducible from the seed: step s draws from `new Rng(seed).fork(s)`.
 *
 * @module
 */
import { join } from "node:path";
import { toTensor } from "../images/mod.ts";
import {
  clipTextShapes,
  loadDiffusersCheckpoint,
  parseClipTextConfig,
  parseUNetConfig,
  unetShapes,
} from "../models/mod.ts";
import { type HostTensor, Session } from "../onnx/mod.ts";
import { AdamW, runSteps, type TrainProgress } from "../optim/mod.ts";
import { Rng } from "../random.ts";
import {
  addNoise,
  minSnrWeights,
  parseSchedulerConfig,
  type SchedulerConfig,
  trainingTarget,
} from "../schedulers/mod.ts";
import { ClipTokenizer } from "../tokenizer/mod.ts";
import { caption, render, sampleScene } from "../world/mod.ts";
import { buildBaseTrainGraph, TEXT_PREFIX, UNET_PREFIX } from "./base_graph.ts";
import { readTrainState, writeTrainState } from "./train_state.ts";
import { WeightSet } from "./weights.ts";
import {
  WORLD_MODEL_INDEX,
  WORLD_SCHEDULER_CONFIG,
  WORLD_SEQ,
  WORLD_UNET_CONFIG,
  worldTextConfig,
  worldTokenizerFiles,
} from "./world_model.ts";

/** Settings of a from-scratch run. */
export interface WorldTrainOptions {
  out: string;
  /** CLIP tokenizer folder the world tokenizer is cut from. */
  clipTokenizerDir: string;
  steps: number;
  batch: number;
  lr: number;
  seed: number;
  emaDecay: number;
  captionDropout: number;
  saveEvery: number;
  /**
   * Continue training. With a state folder from an earlier run, the raw weights, the
   * AdamW moments, the EMA weights and the step count all carry on exactly; without one,
   * training restarts from the (EMA) weights in `out` with fresh moments and a warm-up.
   */
  resume: boolean;
  /**
   * Min-SNR-gamma loss weighting (Hang et al. 2023) for the schedule's prediction type (for v:
   * min(SNR(t), gamma) / (SNR(t) + 1)), so nearly-clean timesteps stop dominating the gradient.
   * 0 gives the plain DDPM loss.
   */
  minSnrGamma: number;
  /** Linear learning-rate warm-up over the first steps of a run with fresh moments. */
  warmupSteps: number;
  /**
   * Learning rate at the last step of this run: the rate follows a cosine from `lr` down to
   * `lrEnd` over the run's steps (annealing a long constant-rate run lowers the loss floor
   * that the gradient noise of a small batch holds it at). Undefined or equal to `lr`: constant.
   */
  lrEnd?: number;
  /**
   * Folder for the full training state (raw weights + AdamW moments), kept apart from
   * the shipped checkpoint because it is 5x its size. Undefined: not saved.
   */
  stateDir?: string;
  /** Called after every step (`step` counts from the start of training, across resumes). */
  onProgress?: (p: TrainProgress) => void;
  /**
   * The noise schedule (a diffusers scheduler_config.json object) written to the checkpoint
   * and trained under. Default `WORLD_SCHEDULER_CONFIG` (v-prediction, zero terminal SNR).
   */
  schedule?: Record<string, unknown>;
  /** Called with one line when resuming changes the checkpoint's noise schedule. */
  onNotice?: (message: string) => void;
  signal?: AbortSignal;
}

async function writeAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.tmp-${crypto.randomUUID()}`;
  if (typeof data === "string") await Deno.writeTextFile(tmp, data);
  else await Deno.writeFile(tmp, data);
  await Deno.rename(tmp, path);
}

/** The schedule a run trains under (scheduler_config.json as an object). */
const scheduleOf = (o: WorldTrainOptions): Record<string, unknown> =>
  o.schedule ?? WORLD_SCHEDULER_CONFIG;

/** Writes configs and tokenizer; returns the tokenizer and the tensor shapes. */
async function layout(o: WorldTrainOptions) {
  for (const c of ["text_encoder", "unet", "scheduler", "tokenizer"]) {
    await Deno.mkdir(join(o.out, c), { recursive: true });
  }
  const files = await worldTokenizerFiles(o.clipTokenizerDir);
  for (const [name, text] of Object.entries(files)) {
    await writeAtomic(join(o.out, "tokenizer", name), text);
  }
  const tokenizer = await ClipTokenizer.fromDir(join(o.out, "tokenizer"));
  const textConfig = worldTextConfig(tokenizer.vocabSize);
  const json = (x: unknown) => `${JSON.stringify(x, null, 2)}\n`;
  await writeAtomic(join(o.out, "model_index.json"), json(WORLD_MODEL_INDEX));
  await writeAtomic(join(o.out, "text_encoder", "config.json"), json(textConfig));
  await writeAtomic(join(o.out, "unet", "config.json"), json(WORLD_UNET_CONFIG));
  await writeAtomic(
    join(o.out, "scheduler", "scheduler_config.json"),
    json(scheduleOf(o)),
  );
  return {
    tokenizer,
    textShapes: clipTextShapes(parseClipTextConfig(textConfig)),
    unetShapes: unetShapes(parseUNetConfig(WORLD_UNET_CONFIG)),
  };
}

const TEXT_FILE = ["text_encoder", "model.safetensors"];
const UNET_FILE = ["unet", "diffusion_pytorch_model.safetensors"];

interface TrainLog {
  seed: number;
  batch: number;
  lr: number;
  steps: number;
  loss: number[];
}

async function readLog(out: string): Promise<TrainLog | null> {
  try {
    return JSON.parse(await Deno.readTextFile(join(out, "training_log.json"))) as TrainLog;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/**
 * The learning rate at step `stepInRun` (from 0) of a run: a cosine from `lr` to `lrEnd` over
 * the run's steps (constant without `lrEnd`), times a linear warm-up over the first
 * `warmupSteps` when the AdamW moments are fresh (exactly resumed moments need none).
 *
 * @example
 * ```ts
 * import { scheduledLearningRate } from "./train_world_model.ts";
 * const o = { lr: 1e-3, lrEnd: 1e-5, steps: 101, warmupSteps: 0 };
 * console.assert(scheduledLearningRate(o, 100, true) === 1e-5);
 * ```
 */
export function scheduledLearningRate(
  o: Pick<WorldTrainOptions, "lr" | "lrEnd" | "steps" | "warmupSteps">,
  stepInRun: number,
  freshMoments: boolean,
): number {
  const end = o.lrEnd ?? o.lr;
  const progress = o.steps > 1 ? stepInRun / (o.steps - 1) : 1;
  const annealed = end + (o.lr - end) * 0.5 * (1 + Math.cos(Math.PI * progress));
  const warm = freshMoments ? Math.min(1, (stepInRun + 1) / Math.max(1, o.warmupSteps)) : 1;
  return annealed * warm;
}

/**
 * A checkpoint trained under another schedule (dd-world-tiny's epsilon start) is fine-tuned
 * to the chosen one on resume: say so, since the objective changes.
 */
async function noticeScheduleChange(o: WorldTrainOptions): Promise<void> {
  const path = join(o.out, "scheduler", "scheduler_config.json");
  let before: Record<string, unknown>;
  try {
    before = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  const now = parseSchedulerConfig(scheduleOf(o));
  const was = parseSchedulerConfig(before);
  const keys = ["prediction_type", "rescale_betas_zero_snr", "timestep_spacing"] as const;
  const changed = keys.filter((k) => was[k] !== now[k]).map((k) => `${k} ${was[k]} -> ${now[k]}`);
  if (changed.length > 0) {
    o.onNotice?.(`fine-tuning ${o.out} to a new noise schedule: ${changed.join(", ")}`);
  }
}

/**
 * The data feeds of global step `step`: captions (10% dropped) of random scenes, their
 * renders noised at random timesteps, the training target and the min-SNR loss weights.
 */
function worldBatch(
  o: WorldTrainOptions,
  tokenizer: ClipTokenizer,
  schedule: SchedulerConfig,
  step: number,
): Record<string, HostTensor> {
  const px = 3 * 32 * 32;
  const rng = new Rng(o.seed).fork(step);
  const ids = new Int32Array(o.batch * WORLD_SEQ);
  const x0 = new Float32Array(o.batch * px);
  const t = new Float32Array(o.batch);
  for (let b = 0; b < o.batch; b++) {
    const scene = sampleScene(rng);
    const text = rng.uniform() < o.captionDropout ? "" : caption(scene);
    ids.set(tokenizer.encodePadded(text, WORLD_SEQ), b * WORLD_SEQ);
    x0.set(toTensor(render(scene, Math.floor(rng.uniform() * 1e9))), b * px);
    t[b] = Math.floor(rng.uniform() * schedule.num_train_timesteps);
  }
  const noise = rng.normals(x0.length);
  const weight = o.minSnrGamma > 0
    ? minSnrWeights(schedule, t, o.minSnrGamma)
    : new Float32Array(o.batch).fill(1);
  const image = (data: Float32Array) => ({
    dtype: "float32" as const,
    dims: [o.batch, 3, 32, 32],
    data,
  });
  return {
    input_ids: { dtype: "int32", dims: [o.batch, WORLD_SEQ], data: ids },
    x_t: image(addNoise(schedule, x0, noise, t)),
    timestep: { dtype: "float32", dims: [o.batch], data: t },
    target: image(trainingTarget(schedule, x0, noise, t)),
    loss_weight: { dtype: "float32", dims: [o.batch, 1, 1, 1], data: weight },
  };
}

/** Trains (or continues training) the world model into `o.out`; returns the loss curve. */
export async function trainWorldModel(o: WorldTrainOptions): Promise<number[]> {
  if (o.resume) await noticeScheduleChange(o);
  const { tokenizer, textShapes, unetShapes: uShapes } = await layout(o);
  const rng0 = new Rng(o.seed);
  const readEma = async (shapes: typeof textShapes, file: string[]) =>
    WeightSet.fromSafetensors(shapes, await Deno.readFile(join(o.out, ...file)));
  const log = o.resume ? await readLog(o.out) : null;
  const state = o.resume && o.stateDir ? await readTrainState(o.stateDir) : null;
  if (state && log && state.step !== log.steps) {
    throw new Error(
      `training state is at step ${state.step} but ${o.out} at step ${log.steps}; ` +
        `remove ${o.stateDir} to resume from the checkpoint's weights`,
    );
  }
  const emaText = o.resume ? await readEma(textShapes, TEXT_FILE) : null;
  const emaUnet = o.resume ? await readEma(uShapes, UNET_FILE) : null;
  const text = state
    ? new WeightSet(textShapes, state.text)
    : emaText?.clone() ?? WeightSet.init(textShapes, rng0.fork("text"));
  const unet = state
    ? new WeightSet(uShapes, state.unet)
    : emaUnet?.clone() ?? WeightSet.init(uShapes, rng0.fork("unet"));
  const ema = { text: emaText ?? text.clone(), unet: emaUnet ?? unet.clone() };
  const save = async (t: WeightSet, u: WeightSet) => {
    await writeAtomic(join(o.out, ...TEXT_FILE), t.toSafetensors());
    await writeAtomic(join(o.out, ...UNET_FILE), u.toSafetensors());
  };
  await save(ema.text, ema.unet); // the graphs are built from the files
  const graphs = await loadDiffusersCheckpoint(o.out);
  const session = await Session.create(buildBaseTrainGraph(graphs, o.batch));
  const schedule = parseSchedulerConfig(scheduleOf(o));
  const optText = new AdamW(text.flat.length, { lr: o.lr, weightDecay: 0, maxGradNorm: 1 });
  const optUnet = new AdamW(unet.flat.length, { lr: o.lr, weightDecay: 0, maxGradNorm: 1 });
  if (state) [optText.state, optUnet.state] = [state.adamText, state.adamUnet];
  // Global step: data draws and the EMA warm-up continue where the last run stopped.
  const first = log?.steps ?? 0;
  const feedsOf = (w: WeightSet, prefix: string) =>
    Object.fromEntries([...w.shapes].map(([name, shape]) => [
      prefix + name,
      { dtype: "float32" as const, dims: shape, data: w.views.get(name)! },
    ]));
  const weightFeeds = { ...feedsOf(text, TEXT_PREFIX), ...feedsOf(unet, UNET_PREFIX) };
  const gradOf = (
    out: Record<string, HostTensor>,
    w: WeightSet,
    prefix: string,
  ) => {
    const flat = new Float32Array(w.flat.length);
    let at = 0;
    for (const name of w.shapes.keys()) {
      const g = out[`grad_${prefix}${name}`]!.data as Float32Array;
      flat.set(g, at);
      at += g.length;
    }
    return flat;
  };
  const curve: number[] = log?.loss.slice(0, first) ?? [];
  try {
    await runSteps({
      session,
      groups: [
        {
          values: text.flat,
          optimizer: optText,
          gradient: (out) => gradOf(out, text, TEXT_PREFIX),
        },
        {
          values: unet.flat,
          optimizer: optUnet,
          gradient: (out) => gradOf(out, unet, UNET_PREFIX),
        },
      ],
      first,
      end: first + o.steps,
      lossCurve: curve,
      signal: o.signal,
      beforeStep: (step) => {
        // Fresh moments make Adam's first updates full-size in every coordinate: warm up.
        optText.options.lr = optUnet.options.lr = scheduledLearningRate(o, step - first, !state);
      },
      feeds: (step) => ({ ...weightFeeds, ...worldBatch(o, tokenizer, schedule, step) }),
      afterUpdate: (step) => {
        // EMA warm-up (as diffusers' EMAModel): early averages follow the weights closely.
        const decay = Math.min(o.emaDecay, (1 + step) / (10 + step));
        text.updateEma(ema.text, decay);
        unet.updateEma(ema.unet, decay);
      },
      onProgress: o.onProgress,
      afterStep: async (step) => {
        const done = step - first;
        if (done % o.saveEvery !== 0 && done !== o.steps) return;
        // State first: a crash between the two writes leaves a state one save ahead,
        // which the step check above reports instead of silently mixing runs.
        if (o.stateDir) {
          await writeTrainState(o.stateDir, {
            step,
            text: text.flat,
            unet: unet.flat,
            adamText: optText.state,
            adamUnet: optUnet.state,
          });
        }
        await save(ema.text, ema.unet);
        const entry: TrainLog = {
          seed: o.seed,
          batch: o.batch,
          lr: o.lr,
          steps: step,
          loss: curve,
        };
        await writeAtomic(join(o.out, "training_log.json"), JSON.stringify(entry));
      },
    });
  } finally {
    await session.release();
  }
  return curve;
}
