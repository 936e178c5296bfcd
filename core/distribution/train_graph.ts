/**
 * The train-step graph: the objective (objective.ts) differentiated w.r.t. the soft
 * prompts, built once per (model, K, M, S, batch, resolution, options) and cached on disk
 * under a key of those facts (DESIGN §5). Weights are never copied into the cache: the
 * cached graph refers to the model's own weight files.
 *
 * @module
 */
import { join } from "node:path";
import { AUTODIFF_VERSION, differentiate } from "../autodiff/mod.ts";
import type { SdGraphs } from "../models/mod.ts";
import {
  DType,
  encodeModel,
  loadModel,
  type Model,
  saveModel,
  shareTiledRows,
  startGraph,
  type Tensor,
} from "../onnx/mod.ts";
import { buildObjective, type ObjectiveOptions } from "./objective.ts";

/** Shapes and options the train-step graph is specialised to. */
export interface TrainGraphSpec {
  K: number;
  M: number;
  S: number;
  batch: number;
  /** Number of template rows before V (BOS + prefix) and after it; before + M + after = L. */
  beforeRows: number;
  afterRows: number;
  /** Suffix tokens between V and EOS (the pooled ortho loss reads the EOS row after them). */
  suffixRows: number;
  /** omega per image and sample [S*B, L, d] (authors' code) instead of per sample [S, L, d]. */
  omegaPerImage: boolean;
  /** Weight of the best-prompt term (0: none; otherwise the graph takes `select` [B, K]). */
  bestPromptWeight: number;
  /** The eq. 3 samples are drawn in the low-rank sampler's form (omega is [rows, K]). */
  lowRank: boolean;
  /** Soft-min temperature over the S samples of each image (0: the paper's mean). */
  sampleSoftmin: number;
  lambda: number;
  sigma: ObjectiveOptions["sigma"];
  ortho: "paper" | "pooled";
  minSnr: boolean;
}

/** The graph's input names, in one place. */
export const TRAIN_INPUTS = {
  ctx: "ctx",
  before: "template_before",
  after: "template_after",
  xT: "x_t",
  timestep: "timestep",
  target: "target",
  omega: "omega",
  weights: "loss_weights",
  select: "prompt_select",
} as const;

/** Builds the train-step model: outputs loss, grad_ctx, diffusion, ortho. */
export function buildTrainGraph(graphs: SdGraphs, spec: TrainGraphSpec): Model {
  const { maxLength: L, hiddenSize: d, latentChannels: C, latentSize: h } = graphs.info;
  if (spec.beforeRows + spec.M + spec.afterRows !== L) {
    throw new Error(`template rows (${spec.beforeRows} + ${spec.M} + ${spec.afterRows}) != L=${L}`);
  }
  const f = (name: string, shape: number[]) => ({ name, dtype: DType.FLOAT, shape });
  const I = TRAIN_INPUTS;
  const inputs = [
    f(I.ctx, [spec.K, spec.M, d]),
    f(I.before, [spec.beforeRows, d]),
    f(I.after, [spec.afterRows, d]),
    f(I.xT, [spec.batch, C, h, h]),
    f(I.timestep, [spec.batch]),
    f(I.target, [spec.batch, C, h, h]),
    f(
      I.omega,
      spec.lowRank
        ? [spec.omegaPerImage ? spec.S * spec.batch : spec.S, spec.K]
        : [spec.omegaPerImage ? spec.S * spec.batch : spec.S, L, d],
    ),
  ];
  if (spec.minSnr) inputs.push(f(I.weights, [spec.batch]));
  if (spec.bestPromptWeight > 0) inputs.push(f(I.select, [spec.batch, spec.K]));
  const { g, finish } = startGraph(inputs, 17, graphs.unet.baseDir);
  const o = buildObjective(g, graphs.textEncoderEmbeds, graphs.unet, {
    ctx: I.ctx,
    before: I.before,
    after: I.after,
    xT: I.xT,
    timestep: I.timestep,
    target: I.target,
    omega: I.omega,
    ...(spec.minSnr ? { weights: I.weights } : {}),
    ...(spec.bestPromptWeight > 0 ? { select: I.select } : {}),
  }, {
    K: spec.K,
    M: spec.M,
    S: spec.S,
    lambda: spec.lambda,
    sigma: spec.sigma,
    ortho: spec.ortho,
    eosIndex: spec.beforeRows + spec.M + spec.suffixRows,
    omegaPerImage: spec.omegaPerImage,
    bestPromptWeight: spec.bestPromptWeight,
    lowRank: spec.lowRank,
    sampleSoftmin: spec.sampleSoftmin,
    ...(graphs.unet.baseDir ? { baseDir: graphs.unet.baseDir } : {}),
  });
  g.name(o.loss, "loss");
  g.name(o.diffusion, "diffusion");
  const extra = ["diffusion"];
  if (o.ortho) extra.push(g.name(o.ortho, "ortho"));
  // The S copies of each image share the UNet's rows up to its first cross-attention.
  const forward = shareTiledRows(finish(["loss", ...extra]));
  return differentiate(forward, { loss: "loss", wrt: [I.ctx], extraOutputs: extra }).model;
}

async function externalFacts(models: Model[]): Promise<string[]> {
  const facts = new Set<string>();
  for (const m of models) {
    for (const t of m.graph.initializers as Tensor[]) {
      if (!t.external || !m.baseDir) continue;
      const path = join(m.baseDir, t.external.location);
      const st = await Deno.stat(path);
      facts.add(`${path}|${st.size}|${st.mtime?.getTime() ?? 0}`);
    }
  }
  return [...facts].sort();
}

/**
 * A cache key: the forward graphs' bytes, their weight files' identity, the spec, and the
 * autodiff's version (a changed rule must never reuse a graph emitted by the old one).
 */
export async function trainGraphKey(graphs: SdGraphs, spec: TrainGraphSpec): Promise<string> {
  const h = await crypto.subtle.digest(
    "SHA-256",
    new Uint8Array([
      ...new TextEncoder().encode(
        JSON.stringify({ v: 4, autodiff: AUTODIFF_VERSION, spec, info: graphs.info }),
      ),
      ...new TextEncoder().encode(
        (await externalFacts([graphs.unet, graphs.textEncoderEmbeds])).join("\n"),
      ),
    ]),
  );
  const te = await crypto.subtle.digest("SHA-256", encodeModel(graphs.textEncoderEmbeds).slice());
  const un = await crypto.subtle.digest("SHA-256", encodeModel(graphs.unet).slice());
  const all = new Uint8Array([...new Uint8Array(h), ...new Uint8Array(te), ...new Uint8Array(un)]);
  const key = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return Array.from(key.subarray(0, 16), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Where graphs are cached: $DD_CACHE_DIR, else $XDG_CACHE_HOME or ~/.cache, /dreamdistribution. */
export function defaultCacheDir(): string {
  const env = (k: string) => Deno.env.get(k);
  if (env("DD_CACHE_DIR")) return env("DD_CACHE_DIR")!;
  const base = env("XDG_CACHE_HOME") ?? join(env("HOME") ?? Deno.cwd(), ".cache");
  return join(base, "dreamdistribution");
}

/** The train-step graph from the cache, or built and cached. */
export async function loadOrBuildTrainGraph(
  graphs: SdGraphs,
  spec: TrainGraphSpec,
  cacheDir: string | null = defaultCacheDir(),
): Promise<{ model: Model; cached: boolean; key: string }> {
  const key = await trainGraphKey(graphs, spec);
  if (!cacheDir) return { model: buildTrainGraph(graphs, spec), cached: false, key };
  const path = join(cacheDir, "graphs", `train-${key}.onnx`);
  try {
    return { model: await loadModel(path), cached: true, key };
  } catch (e) {
    if (!(e as Error).message.includes("not found")) {
      // A corrupt cache entry is rebuilt, never trusted.
      await Deno.remove(path).catch(() => {});
    }
  }
  const model = buildTrainGraph(graphs, spec);
  await Deno.mkdir(join(cacheDir, "graphs"), { recursive: true });
  await saveModel(model, path);
  return { model, cached: false, key };
}
