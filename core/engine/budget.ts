/**
 * The memory budget of a request: an estimate of the peak bytes a training or a sampling run
 * needs, computed from its options and the model's configs before any work, so that a request
 * past a ceiling is refused instead of exhausting the machine.
 *
 * ## The formula
 *
 * The model's configs give structural counts of float32 activations (no weights):
 *
 * - UNet, per sample: `U = Σ_levels 2·HW·C·layers + Σ_attention levels 2·heads·HW·(HW + L)
 *   + (HW·C + heads·HW·(HW + L)) at the mid block`, where HW is the level's latent area,
 *   C its channels, L the text length;
 * - text encoder, per prompt: `T = layers·(L·(8·d + 2·intermediate) + 2·heads·L²)`;
 * - VAE decoder, per image: `V = Σ_levels 6·HW·C` at pixel resolution (0 without a VAE).
 *
 * Then, in bytes (4 per float):
 *
 *     train  = BASE + 3·weights + 4·(TRAIN·(U·S·B + T·K) + INFER·U·K·[best_prompt])
 *     sample = BASE + 2·weights + 4·(INFER·(2·U·b + T·(K + 2)) + DECODE·V·b)
 *
 * where S·B is the UNet batch of a training step (MC samples x images), K the prompts (the
 * best-prompt objective runs the UNet on the K prompts of one reference at a time), b the
 * sampling batch (classifier-free guidance doubles it) and weights the bytes of the model's
 * weight files. The constants were fitted on peak RSS (VmHWM) of runs in their own process
 * (`deno run -A tests/bench/memory_budget_bench.ts`), on the embedded model and the tiny SD2
 * fixture: BASE = 190 MiB (Deno, ONNX Runtime, graph building), TRAIN = 6.8 (forward and
 * backward keep about 7 floats per structural float), INFER = 2.3, DECODE = 2.3. Measured
 * peaks were within 15% of the estimate on both models; the README lists them.
 *
 * @example
 * ```ts
 * import { budgetModelFacts, estimateTrainBytes } from "./budget.ts";
 * const facts = await budgetModelFacts("core/models/embedded/dd-world-tiny");
 * const small = estimateTrainBytes(facts, { K: 4, M: 2, S: 1, batchSize: 1 });
 * const large = estimateTrainBytes(facts, { K: 4, M: 2, S: 32, batchSize: 32 });
 * console.assert(large > 10 * small);
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { DEFAULT_OBJECTIVE } from "../distribution/mod.ts";
import { parseClipTextConfig, parseUNetConfig, parseVaeConfig, perBlock } from "../models/mod.ts";

/** Fixed cost of a run in its own process: Deno, ONNX Runtime, graph building. */
export const BASE_BYTES = 190 * 2 ** 20;
/** Bytes kept per structural float in a training step (forward and backward). */
export const TRAIN_FACTOR = 6.8;
/** Bytes kept per structural float in inference. */
export const INFER_FACTOR = 2.3;
/** Bytes kept per structural float of the VAE decoder. */
export const DECODE_FACTOR = 2.3;

/** What the estimate needs to know about a model (see the module doc for U, T, V). */
export interface BudgetModelFacts {
  /** Bytes of the model's weight files. */
  weightBytes: number;
  /** UNet activation floats per sample (U). */
  unetFloats: number;
  /** Text-encoder activation floats per prompt (T). */
  textFloats: number;
  /** VAE-decoder activation floats per image at full resolution (V; 0 without a VAE). */
  decoderFloats: number;
}

/** The options a training estimate reads. */
export interface TrainBudgetOptions {
  K: number;
  M: number;
  S: number;
  batchSize: number;
  /** Default `DEFAULT_OBJECTIVE`; "best_prompt" adds a K-batch UNet pass. */
  objective?: "paper" | "best_prompt";
}

/** The options a sampling estimate reads. */
export interface SampleBudgetOptions {
  /** Images per UNet batch (the pipeline's default, 4, when absent). */
  batchSize?: number;
  n: number;
  /** Prompts of the distributions (re-encoded with a template); default 32. */
  K?: number;
}

/** The pipeline's batch size when a request names none (core/pipeline/txt2img.ts). */
const SAMPLE_BATCH_DEFAULT = 4;

const cache = new Map<string, Promise<BudgetModelFacts>>();

/**
 * Reads a diffusers folder's configs and weight sizes (once per folder and process).
 *
 * @param dir The model folder (unet/, text_encoder/, optional vae/).
 * @returns The structural counts and the weight bytes.
 * @throws {Error} When a config is missing or invalid.
 */
export function budgetModelFacts(dir: string): Promise<BudgetModelFacts> {
  let facts = cache.get(dir);
  if (!facts) {
    facts = readFacts(dir);
    facts.catch(() => cache.delete(dir));
    cache.set(dir, facts);
  }
  return facts;
}

async function readJson(path: string): Promise<unknown> {
  return JSON.parse(await Deno.readTextFile(path));
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && /\.(safetensors|bin|onnx|onnx_data)$/.test(e.name)) {
        total += (await Deno.stat(join(dir, e.name))).size;
      }
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return total;
}

async function readFacts(dir: string): Promise<BudgetModelFacts> {
  const unet = parseUNetConfig(await readJson(join(dir, "unet", "config.json")));
  const text = parseClipTextConfig(await readJson(join(dir, "text_encoder", "config.json")));
  let vae = null;
  try {
    vae = parseVaeConfig(await readJson(join(dir, "vae", "config.json")));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const L = text.max_position_embeddings;
  const levels = unet.block_out_channels.length;
  const heads = perBlock(unet.num_attention_heads ?? unet.attention_head_dim, levels);
  const layers = perBlock(unet.layers_per_block, levels);
  let unetFloats = 0;
  for (let l = 0; l < levels; l++) {
    const hw = (unet.sample_size / 2 ** l) ** 2;
    const c = unet.block_out_channels[l]!;
    unetFloats += 2 * hw * c * layers[l]!;
    if (unet.down_block_types[l] === "CrossAttnDownBlock2D") {
      unetFloats += 2 * heads[l]! * hw * (hw + L);
    }
  }
  const low = (unet.sample_size / 2 ** (levels - 1)) ** 2;
  unetFloats += low * unet.block_out_channels[levels - 1]! + heads[levels - 1]! * low * (low + L);
  const d = text.hidden_size;
  const textFloats = text.num_hidden_layers *
    (L * (8 * d + 2 * text.intermediate_size) + 2 * text.num_attention_heads * L * L);
  let decoderFloats = 0;
  if (vae) {
    const side = unet.sample_size * 2 ** (vae.block_out_channels.length - 1);
    vae.block_out_channels.forEach((c, l) => (decoderFloats += 6 * (side / 2 ** l) ** 2 * c));
  }
  const weightBytes = (await folderBytes(join(dir, "unet"))) +
    (await folderBytes(join(dir, "text_encoder"))) + (await folderBytes(join(dir, "vae")));
  return { weightBytes, unetFloats, textFloats, decoderFloats };
}

/**
 * Peak bytes of a training run (see the module doc).
 *
 * @param m The model's facts.
 * @param o K, M, S, batch size, objective.
 * @returns The estimate in bytes.
 */
export function estimateTrainBytes(m: BudgetModelFacts, o: TrainBudgetOptions): number {
  const best = (o.objective ?? DEFAULT_OBJECTIVE) === "best_prompt" ? 1 : 0;
  const floats = TRAIN_FACTOR * (m.unetFloats * o.S * o.batchSize + m.textFloats * o.K) +
    INFER_FACTOR * m.unetFloats * o.K * best;
  return BASE_BYTES + 3 * m.weightBytes + 4 * floats;
}

/**
 * Peak bytes of a sampling run (see the module doc).
 *
 * @param m The model's facts.
 * @param o Images, batch size, prompts.
 * @returns The estimate in bytes.
 */
export function estimateSampleBytes(m: BudgetModelFacts, o: SampleBudgetOptions): number {
  const b = Math.min(o.n, o.batchSize ?? SAMPLE_BATCH_DEFAULT);
  const floats = INFER_FACTOR * (2 * m.unetFloats * b + m.textFloats * ((o.K ?? 32) + 2)) +
    DECODE_FACTOR * m.decoderFloats * b;
  return BASE_BYTES + 2 * m.weightBytes + 4 * floats;
}
