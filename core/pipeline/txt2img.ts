/**
 * Text features in, images out: seeded latents → denoising loop with classifier-free
 * guidance → VAE decode. The stages follow diffusers' StableDiffusionPipeline.__call__.
 *
 * Reproducibility: image i's initial latents and any ancestral noise come from
 * `new Rng(seed).fork(i)`, so an image depends on (seed, i) only, not on batch size.
 *
 * @module
 */
import { Rng } from "../random.ts";
import type { Scheduler, SchedulerPlan } from "../schedulers/mod.ts";
import type { SdRuntime } from "../models/mod.ts";

/** A scheduler and its plan for one request: planned once (core/engine's `planTimesteps`). */
export interface PlannedTimesteps {
  scheduler: Scheduler;
  plan: SchedulerPlan;
}

/**
 * Sampling settings: the denoising steps as a count (planned here) or as a plan made earlier
 * by the same scheduler (the request's one check of `steps`, passed down).
 */
export type Txt2ImgOptions =
  & Txt2ImgSettings
  & (
    | { steps: number; plan?: never }
    | { plan: SchedulerPlan; steps?: never }
  );

/** The settings of {@linkcode Txt2ImgOptions} besides the steps. */
export interface Txt2ImgSettings {
  /** Classifier-free guidance scale (1 disables the unconditional branch). */
  guidance: number;
  /**
   * diffusers' `guidance_rescale` phi in [0, 1] (Lin et al. 2024, §3.4): the guided prediction
   * is rescaled to the per-image std of the conditional one, then blended with weight phi.
   * 0 (default) is plain classifier-free guidance.
   */
  guidanceRescale?: number;
  seed: number;
  /** Images denoised together (the UNet runs on twice this with guidance). */
  batchSize?: number;
  /** Given initial latents [n, C, h, w] (already scaled by init_noise_sigma), e.g. for tests. */
  latents?: Float32Array;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** Final latents [n, C, h, w] and decoded pixels [n, 3, H, W] (raw, about [-1, 1]). */
export interface Txt2ImgResult {
  latents: Float32Array;
  pixels: Float32Array;
}

/**
 * Generates one image per row of `cond` [n, L, d]; `uncond` is [L, d] (shared) or [n, L, d].
 * @throws Error when aborted, or on inconsistent sizes.
 */
export async function txt2img(
  rt: SdRuntime,
  scheduler: Scheduler,
  cond: Float32Array,
  uncond: Float32Array,
  opts: Txt2ImgOptions,
): Promise<Txt2ImgResult> {
  const { maxLength: L, hiddenSize: d, latentChannels: C, latentSize: h } = rt.info;
  const feat = L * d, lat = C * h * h;
  const n = cond.length / feat;
  if (!Number.isInteger(n) || n < 1) throw new Error(`cond must be [n, ${L}, ${d}]`);
  if (uncond.length !== feat && uncond.length !== cond.length) {
    throw new Error(`uncond must be [${L}, ${d}] or [${n}, ${L}, ${d}]`);
  }
  const batch = Math.max(1, Math.min(opts.batchSize ?? 4, n));
  const plan = opts.plan ?? scheduler.setTimesteps(opts.steps);
  if (plan.kind !== scheduler.kind) {
    throw new Error(`a ${plan.kind} plan given to the ${scheduler.kind} scheduler`);
  }
  const rngs = Array.from({ length: n }, (_, i) => new Rng(opts.seed).fork(i));
  const latents = new Float32Array(n * lat);
  const pixels: Float32Array[] = [];
  const total = Math.ceil(n / batch) * plan.timesteps.length;
  let done = 0;

  for (let start = 0; start < n; start += batch) {
    const b = Math.min(batch, n - start);
    // 1. Initial latents.
    let x = opts.latents
      ? opts.latents.slice(start * lat, (start + b) * lat)
      : concat(rngs.slice(start, start + b).map((r) => scale(r.normals(lat), plan.initNoiseSigma)));
    // 2. Context: unconditional rows first, as diffusers does.
    const c = cond.subarray(start * feat, (start + b) * feat);
    const u = uncond.length === feat
      ? concat(Array.from({ length: b }, () => uncond))
      : uncond.subarray(start * feat, (start + b) * feat);
    const guided = opts.guidance !== 1;
    const context = guided ? concat([u, c]) : c;
    // 3. Denoising loop: scale, predict, guide, step.
    let state = scheduler.initialState(plan);
    for (let k = 0; k < plan.timesteps.length; k++) {
      opts.signal?.throwIfAborted();
      const input = scheduler.scaleModelInput(plan, x, k);
      const pred = await rt.unet(
        guided ? concat([input, input]) : input,
        new Float32Array(guided ? 2 * b : b).fill(plan.timesteps[k]!),
        context,
      );
      const eps = guided ? guide(pred, b, lat, opts.guidance, opts.guidanceRescale ?? 0) : pred;
      const noise = scheduler.stochastic
        ? concat(rngs.slice(start, start + b).map((r) => r.fork(`step${k}`).normals(lat)))
        : undefined;
      ({ prevSample: x, state } = scheduler.step(plan, state, k, eps, x, noise));
      opts.onProgress?.(++done, total);
    }
    latents.set(x, start * lat);
    // 4. Decode.
    pixels.push(await rt.decode(scale(x, 1 / rt.info.scalingFactor), b));
  }
  return { latents, pixels: concat(pixels) };
}

/**
 * u + g (c - u) with the unconditional half first; then, when phi > 0, diffusers'
 * `rescale_noise_cfg`: x = phi * x * std(c) / std(x) + (1 - phi) * x, stds per image
 * (unbiased, as torch.std), which undoes the over-exposure that guidance causes on
 * zero-terminal-SNR models.
 */
export function guide(
  pred: Float32Array,
  images: number,
  size: number,
  g: number,
  phi = 0,
): Float32Array {
  const half = images * size;
  const out = new Float32Array(half);
  for (let i = 0; i < half; i++) out[i] = pred[i]! + g * (pred[half + i]! - pred[i]!);
  if (phi === 0) return out;
  for (let b = 0; b < images; b++) {
    const x = out.subarray(b * size, (b + 1) * size);
    const factor = std(pred.subarray(half + b * size, half + (b + 1) * size)) / std(x);
    const blend = Number.isFinite(factor) ? phi * factor + (1 - phi) : 1;
    for (let i = 0; i < size; i++) x[i] = x[i]! * blend;
  }
  return out;
}

function std(x: Float32Array): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m += x[i]!;
  m /= x.length;
  let ss = 0;
  for (let i = 0; i < x.length; i++) ss += (x[i]! - m) ** 2;
  return Math.sqrt(ss / Math.max(1, x.length - 1));
}

function scale(x: Float32Array, s: number): Float32Array {
  return s === 1 ? x : x.map((v) => v * s);
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
