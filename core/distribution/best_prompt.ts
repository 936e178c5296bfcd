/**
 * The best-prompt objective's assignment (DESIGN §4b): which prompt explains which reference.
 *
 * The term is mean_b softmin_k L(b, c_k), with L the denoising loss of reference b under the
 * plain features c_k of prompt k. Its gradient is Σ_k r_bk ∇L(b, c_k), with r_b the softmin
 * responsibilities; the trainer estimates it without K UNet passes per image by drawing one
 * prompt k ~ r_b for each image of a batch (an unbiased estimate for fixed r). The
 * responsibilities are refreshed every few steps from a loss table L[r, k] over every
 * reference and prompt at fixed timesteps and noise (`promptLossTable`).
 *
 * Two choices keep it from collapsing. Losses are standardised per reference (z-scores over
 * k) before the softmin, so the temperature does not depend on the loss scale. And a few
 * Sinkhorn iterations balance the columns (as in SwAV), so that every prompt explains about
 * R / K references: otherwise the first prompt to improve explains every reference, is
 * trained on all of them, and stays best, which is one prompt again (Textual Inversion).
 *
 * @module
 */
import type { ModelRuntime } from "../models/mod.ts";
import { Rng } from "../random.ts";
import { addNoise, type SchedulerConfig, trainingTarget } from "../schedulers/mod.ts";

/** Sinkhorn iterations balancing prompts against references. */
export const SINKHORN_ITERATIONS = 3;

/**
 * Softmin responsibilities [R, K] of a loss table [R, K]: per row, z-scores of the losses,
 * then exp(-z / temperature), then `SINKHORN_ITERATIONS` rounds of column then row
 * normalisation (columns to R / K, rows to 1).
 *
 * @example
 * ```ts
 * import { responsibilities } from "./best_prompt.ts";
 * // Two references, two prompts: each reference prefers a different prompt.
 * const r = responsibilities(Float32Array.from([0.1, 0.5, 0.5, 0.1]), 2, 2, 0.1);
 * console.assert(r[0]! > 0.99 && r[3]! > 0.99);
 * ```
 */
export function responsibilities(
  losses: Float32Array,
  R: number,
  K: number,
  temperature: number,
): Float64Array<ArrayBuffer> {
  if (losses.length !== R * K) throw new RangeError(`losses must be [${R}, ${K}]`);
  const p = new Float64Array(R * K);
  for (let r = 0; r < R; r++) {
    const row = losses.subarray(r * K, (r + 1) * K);
    const mean = row.reduce((a, b) => a + b, 0) / K;
    const sd = Math.sqrt(row.reduce((a, b) => a + (b - mean) ** 2, 0) / K) || 1;
    const z = Array.from(row, (x) => (x - mean) / sd);
    const lo = Math.min(...z);
    for (let k = 0; k < K; k++) p[r * K + k] = Math.exp(-(z[k]! - lo) / temperature);
    normaliseRow(p, r, K);
  }
  for (let it = 0; it < SINKHORN_ITERATIONS; it++) {
    for (let k = 0; k < K; k++) {
      let col = 0;
      for (let r = 0; r < R; r++) col += p[r * K + k]!;
      const f = col > 0 ? R / K / col : 0;
      for (let r = 0; r < R; r++) p[r * K + k]! *= f;
    }
    for (let r = 0; r < R; r++) normaliseRow(p, r, K);
  }
  return p;
}

function normaliseRow(p: Float64Array, r: number, K: number): void {
  let s = 0;
  for (let k = 0; k < K; k++) s += p[r * K + k]!;
  for (let k = 0; k < K; k++) p[r * K + k] = s > 0 ? p[r * K + k]! / s : 1 / K;
}

/**
 * One-hot prompt choices [B, K] for a batch of references `refs`, each drawn from its row of
 * the responsibilities with one uniform from `rng`.
 *
 * @example
 * ```ts
 * import { drawSelection } from "./best_prompt.ts";
 * const sel = drawSelection(Float64Array.from([0, 1, 1, 0]), 2, [0, 1], { uniform: () => 0.5 });
 * console.assert(sel[1] === 1 && sel[2] === 1);
 * ```
 */
export function drawSelection(
  resp: Float64Array,
  K: number,
  refs: number[],
  rng: { uniform(): number },
): Float32Array {
  const out = new Float32Array(refs.length * K);
  refs.forEach((r, b) => {
    const u = rng.uniform();
    let acc = 0, k = 0;
    for (; k < K - 1; k++) {
      acc += resp[r * K + k]!;
      if (u < acc) break;
    }
    out[b * K + k] = 1;
  });
  return out;
}

/** Fixed timesteps (as quantiles of the schedule) at which the loss table is measured. */
export const TABLE_TIMESTEP_QUANTILES = [0.2, 0.5, 0.8];

/**
 * The loss table L[r, k] [R, K]: the mean denoising loss of reference latent r under the text
 * features c_k of prompt k, at `TABLE_TIMESTEP_QUANTILES` with noise fixed by `seed` (so
 * successive tables differ only because the prompts moved).
 */
export async function promptLossTable(
  rt: ModelRuntime,
  schedule: SchedulerConfig,
  latents: Float32Array[],
  features: Float32Array,
  K: number,
  seed: number,
): Promise<Float32Array> {
  const { latentChannels: C, latentSize: h, maxLength: L, hiddenSize: d } = rt.graphs.info;
  const lat = C * h * h, feat = L * d, R = latents.length;
  const T = schedule.num_train_timesteps;
  if (features.length !== K * feat) throw new RangeError(`features must be [${K}, ${L}, ${d}]`);
  const table = new Float32Array(R * K);
  const rng = new Rng(seed).fork("best-prompt-table");
  for (let r = 0; r < R; r++) {
    for (const q of TABLE_TIMESTEP_QUANTILES) {
      const t = new Float32Array(K).fill(Math.floor(q * T));
      const noise1 = rng.normals(lat);
      const x0 = new Float32Array(K * lat), noise = new Float32Array(K * lat);
      for (let k = 0; k < K; k++) {
        x0.set(latents[r]!, k * lat);
        noise.set(noise1, k * lat);
      }
      const pred = await rt.unet(addNoise(schedule, x0, noise, t), t, features);
      const target = trainingTarget(schedule, x0, noise, t);
      for (let k = 0; k < K; k++) {
        let s = 0;
        for (let i = k * lat; i < (k + 1) * lat; i++) s += (pred[i]! - target[i]!) ** 2;
        table[r * K + k]! += s / lat / TABLE_TIMESTEP_QUANTILES.length;
      }
    }
  }
  return table;
}
