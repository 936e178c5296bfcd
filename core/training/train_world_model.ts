/**
 * Trains the embedded default model from scratch on the procedural shape world:
 * captions → text encoder → pixel-space UNet, epsilon prediction (DDPM, Ho et al. 2020),
 * gradients from core/autodiff w.r.t. every weight, AdamW in TypeScript, an exponential
 * moving average of the weights for sampling, and 10% caption dropout so classifier-free
 * guidance works. Reproducible from the seed: step s draws from `new Rng(seed).fork(s)`.
 *
 * @module
 */
import { join } from "node:path";
import { toTensor } from "../images/tensor.ts";
import { parseClipTextConfig, parseUNetConfig } from "../models/config.ts";
import { loadDiffusersCheckpoint } from "../models/checkpoint.ts";
import { clipTextShapes, unetShapes } from "../models/init.ts";
import { type HostTensor, Session } from "../onnx/runtime.ts";
import { AdamW } from "../optim/adamw.ts";
import { Rng } from "../random.ts";
import { parseSchedulerConfig } from "../schedulers/config.ts";
import { addNoise } from "../schedulers/ddpm.ts";
import { ClipTokenizer } from "../tokenizer/clip.ts";
import { caption, render, sampleScene } from "../world/mod.ts";
import { buildBaseTrainGraph, TEXT_PREFIX, UNET_PREFIX } from "./base_graph.ts";
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
  /** Continue from the weights in `out` (the optimiser state restarts). */
  resume: boolean;
  onProgress?: (step: number, loss: number, stepsPerSecond: number) => void;
  signal?: AbortSignal;
}

async function writeAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.tmp-${crypto.randomUUID()}`;
  if (typeof data === "string") await Deno.writeTextFile(tmp, data);
  else await Deno.writeFile(tmp, data);
  await Deno.rename(tmp, path);
}

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
    json(WORLD_SCHEDULER_CONFIG),
  );
  return {
    tokenizer,
    textShapes: clipTextShapes(parseClipTextConfig(textConfig)),
    unetShapes: unetShapes(parseUNetConfig(WORLD_UNET_CONFIG)),
  };
}

const TEXT_FILE = ["text_encoder", "model.safetensors"];
const UNET_FILE = ["unet", "diffusion_pytorch_model.safetensors"];

/** Trains (or continues training) the world model into `o.out`; returns the loss curve. */
export async function trainWorldModel(o: WorldTrainOptions): Promise<number[]> {
  const { tokenizer, textShapes, unetShapes: uShapes } = await layout(o);
  const rng0 = new Rng(o.seed);
  const load = async (shapes: typeof textShapes, file: string[], label: string) =>
    o.resume
      ? WeightSet.fromSafetensors(shapes, await Deno.readFile(join(o.out, ...file)))
      : WeightSet.init(shapes, rng0.fork(label));
  const text = await load(textShapes, TEXT_FILE, "text");
  const unet = await load(uShapes, UNET_FILE, "unet");
  const save = async (t: WeightSet, u: WeightSet) => {
    await writeAtomic(join(o.out, ...TEXT_FILE), t.toSafetensors());
    await writeAtomic(join(o.out, ...UNET_FILE), u.toSafetensors());
  };
  await save(text, unet); // the graphs are built from the files
  const graphs = await loadDiffusersCheckpoint(o.out);
  const session = await Session.create(buildBaseTrainGraph(graphs, o.batch));
  const schedule = parseSchedulerConfig(WORLD_SCHEDULER_CONFIG);
  const [emaText, emaUnet] = [text.clone(), unet.clone()];
  const optText = new AdamW(text.flat.length, { lr: o.lr, weightDecay: 0, maxGradNorm: 1 });
  const optUnet = new AdamW(unet.flat.length, { lr: o.lr, weightDecay: 0, maxGradNorm: 1 });
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
  const curve: number[] = [];
  const px = 3 * 32 * 32;
  const t0 = performance.now();
  try {
    for (let step = 0; step < o.steps; step++) {
      if (o.signal?.aborted) throw new Error("training cancelled");
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
      const out = await session.run({
        ...weightFeeds,
        input_ids: { dtype: "int32", dims: [o.batch, WORLD_SEQ], data: ids },
        x_t: {
          dtype: "float32",
          dims: [o.batch, 3, 32, 32],
          data: addNoise(schedule, x0, noise, t),
        },
        timestep: { dtype: "float32", dims: [o.batch], data: t },
        target: { dtype: "float32", dims: [o.batch, 3, 32, 32], data: noise },
      });
      optText.step(text.flat, gradOf(out, text, TEXT_PREFIX));
      optUnet.step(unet.flat, gradOf(out, unet, UNET_PREFIX));
      // EMA warm-up (as diffusers' EMAModel): early averages follow the weights closely.
      const decay = Math.min(o.emaDecay, (1 + step) / (10 + step));
      text.updateEma(emaText, decay);
      unet.updateEma(emaUnet, decay);
      const loss = Number(out.loss!.data[0]);
      curve.push(loss);
      o.onProgress?.(step + 1, loss, (step + 1) / ((performance.now() - t0) / 1000));
      if ((step + 1) % o.saveEvery === 0 || step + 1 === o.steps) {
        await save(emaText, emaUnet);
        await writeAtomic(
          join(o.out, "training_log.json"),
          JSON.stringify({ seed: o.seed, batch: o.batch, lr: o.lr, steps: step + 1, loss: curve }),
        );
      }
    }
  } finally {
    await session.release();
  }
  return curve;
}
