/**
 * Images from a resolved distribution: a fresh c~ per image (gamma, sampler), the encoding of
 * the negative prompt, then guided denoising (core/pipeline) and pixels. This is the part of
 * sampling that runs unchanged in the browser (core/browser): it needs a tokenizer and an
 * {@linkcode SdRuntime}, whichever ONNX Runtime is behind it, and nothing that reads files.
 * Refitting a distribution inside a new template (sample.ts) needs the model's token table and
 * stays on the server.
 *
 * @module
 */
import { fromTensor, type RgbImage } from "../images/browser.ts";
import type { SdRuntime } from "../models/browser.ts";
import { type PlannedTimesteps, txt2img } from "../pipeline/mod.ts";
import { Rng } from "../random.ts";
import { DEFAULT_SAMPLER, PromptDistribution, type SamplerKind } from "./prompt_distribution.ts";

/** A tokenizer that pads full sequences (for the negative prompt). */
export interface PaddingTokenizer {
  encodePadded(text: string, maxLength?: number): number[];
}

/** A model ready to render from: sessions behind typed calls, and a tokenizer. */
export interface RenderModel {
  runtime: SdRuntime;
  tokenizer: PaddingTokenizer;
}

/** What to render, besides the distribution. */
export interface RenderOptions {
  gamma: number;
  negativePrompt?: string;
  n: number;
  seed: number;
  guidance: number;
  /** diffusers' guidance_rescale phi in [0, 1] (0: plain classifier-free guidance). */
  guidanceRescale?: number;
  /** The request's timesteps, planned once by the caller (core/engine's `planTimesteps`). */
  timesteps: PlannedTimesteps;
  /** How c~ is drawn (DESIGN §4b); default `DEFAULT_SAMPLER`. */
  sampler?: SamplerKind;
  /** One c~ shared by all images (authors' code) instead of a fresh one each (paper). */
  sharedSample?: boolean;
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** The stored tensors {@linkcode storedDistribution} needs. */
export interface StoredTensors {
  mu: { data: Float32Array };
  sigma: { data: Float32Array };
  /** The K prompts' text features [K, L, d], when stored. */
  features?: { data: Float32Array };
}

/**
 * A stored distribution as it is sampled without a new template: mu and sigma exactly as
 * stored, and the spread of its stored features (one prompt, Textual Inversion, has a spread
 * of one zero row: every sampler gives mu). Without features only the diagonal sampler works.
 *
 * @param K The number of prompts.
 * @param t The stored tensors.
 * @param shape [L, d].
 * @returns The distribution.
 * @example
 * ```ts
 * import { storedDistribution } from "./render.ts";
 * const one = { data: new Float32Array(2) };
 * const d = storedDistribution(1, { mu: one, sigma: one }, [1, 2]);
 * console.assert(d.spread!.deviations.every((x) => x === 0));
 * ```
 */
export function storedDistribution(
  K: number,
  t: StoredTensors,
  shape: readonly [number, number],
): PromptDistribution {
  const spread = K === 1
    ? PromptDistribution.withFeatures(t.mu.data, 1, shape).spread
    : t.features
    ? PromptDistribution.withFeatures(t.features.data, K, shape).spread
    : undefined;
  return new PromptDistribution(t.mu.data, t.sigma.data, shape, spread);
}

/** Text features of a plain prompt, [L, d]. */
export async function encodePrompt(model: RenderModel, text: string): Promise<Float32Array> {
  const ids = Int32Array.from(model.tokenizer.encodePadded(text, model.runtime.info.maxLength));
  return await model.runtime.encodeIds(ids, 1);
}

/** The sampled c~ [n, L, d] and the unconditional features [L, d]. */
export async function sampleFeatures(
  model: RenderModel,
  dist: PromptDistribution,
  o: Pick<RenderOptions, "gamma" | "n" | "seed" | "sharedSample" | "negativePrompt" | "sampler">,
): Promise<{ cond: Float32Array; uncond: Float32Array }> {
  const scaled = dist.scaled(o.gamma);
  const rng = new Rng(o.seed).fork("c~");
  const cond = o.sharedSample
    ? (() => {
      const one = scaled.sample(rng, o.sampler ?? DEFAULT_SAMPLER);
      const all = new Float32Array(o.n * one.length);
      for (let i = 0; i < o.n; i++) all.set(one, i * one.length);
      return all;
    })()
    : scaled.sampleMany(o.n, rng, o.sampler ?? DEFAULT_SAMPLER);
  return { cond, uncond: await encodePrompt(model, o.negativePrompt ?? "") };
}

/**
 * Generates n images from a resolved distribution (a stored one, a mix, or one still being
 * trained: previews).
 * @example
 * ```ts ignore
 * const images = await renderDistribution(model, dist, { gamma: 1, n: 4, seed: 0, guidance: 3, timesteps });
 * ```
 */
export async function renderDistribution(
  model: RenderModel,
  dist: PromptDistribution,
  o: RenderOptions,
): Promise<RgbImage[]> {
  const { cond, uncond } = await sampleFeatures(model, dist, o);
  const { scheduler, plan } = o.timesteps;
  const { pixels } = await txt2img(model.runtime, scheduler, cond, uncond, {
    plan,
    guidance: o.guidance,
    guidanceRescale: o.guidanceRescale ?? 0,
    seed: o.seed,
    ...(o.batchSize ? { batchSize: o.batchSize } : {}),
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  const { latentSize, vaeScale } = model.runtime.info;
  const side = latentSize * vaeScale, size = 3 * side * side;
  return Array.from(
    { length: o.n },
    (_, i) => fromTensor(pixels.subarray(i * size, (i + 1) * size), side, side),
  );
}
