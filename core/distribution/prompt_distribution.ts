/**
 * The learned distribution over text features: a diagonal Gaussian N(mu, sigma^2) on the
 * [L, d] output of the text encoder (DreamDistribution §3.2). Sampling, diversity scaling
 * (§4.3, sigma' = gamma sigma) and mixing (eq. 7) are plain arithmetic on mu and sigma.
 *
 * @module
 */
import { DistributionInputError } from "./errors.ts";

/** Anything that yields standard normal samples (core/random.ts's Rng does). */
export interface NormalSource {
  normals(n: number): Float32Array;
}

/** How sigma is estimated from the K prompt features. */
export type SigmaEstimator = "unbiased" | "population";

/** How mixed sigmas combine: the paper's eq. 7 (sum sqrt(a_i) sigma_i) or "rms". */
export type MixMode = "paper" | "rms";

/**
 * A diagonal Gaussian over text features [L, d].
 * @example
 * ```ts
 * const d = new PromptDistribution(new Float32Array(4), new Float32Array(4).fill(1), [2, 2]);
 * const one = d.scaled(0).sample({ normals: (n) => new Float32Array(n).fill(3) });
 * // gamma = 0: every sample is mu
 * ```
 */
export class PromptDistribution {
  constructor(
    readonly mu: Float32Array,
    readonly sigma: Float32Array,
    readonly shape: readonly [number, number],
  ) {
    const n = shape[0] * shape[1];
    if (mu.length !== n || sigma.length !== n) {
      throw new Error(`PromptDistribution: mu/sigma must have ${n} values (shape ${shape})`);
    }
  }

  /**
   * Fits mu and sigma to K feature maps c [K, L, d] (mean and std over K, per element).
   * @throws Error when K < 2 with the unbiased estimator.
   */
  static fromFeatures(
    c: Float32Array,
    K: number,
    shape: readonly [number, number],
    estimator: SigmaEstimator = "unbiased",
  ): PromptDistribution {
    const n = shape[0] * shape[1];
    if (c.length !== K * n) {
      throw new Error(`fromFeatures: expected ${K * n} values, got ${c.length}`);
    }
    if (estimator === "unbiased" && K < 2) {
      throw new Error("fromFeatures: the unbiased std needs K >= 2 prompts");
    }
    const mu = new Float32Array(n);
    const sigma = new Float32Array(n);
    const div = estimator === "unbiased" ? K - 1 : K;
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += c[k * n + j]!;
      const m = s / K;
      let ss = 0;
      for (let k = 0; k < K; k++) ss += (c[k * n + j]! - m) ** 2;
      mu[j] = m;
      sigma[j] = Math.sqrt(ss / div);
    }
    return new PromptDistribution(mu, sigma, shape);
  }

  /** The same mean with sigma' = gamma * sigma (diversity control; gamma >= 0). */
  scaled(gamma: number): PromptDistribution {
    if (!(gamma >= 0) || !Number.isFinite(gamma)) {
      throw new DistributionInputError(
        "request",
        `gamma must be a finite number >= 0, got ${gamma}`,
      );
    }
    return new PromptDistribution(this.mu, this.sigma.map((s) => s * gamma), this.shape);
  }

  /** One sample c~ = mu + omega * sigma, omega ~ N(0, I). */
  sample(rng: NormalSource): Float32Array {
    const omega = rng.normals(this.mu.length);
    const out = new Float32Array(this.mu.length);
    for (let i = 0; i < out.length; i++) out[i] = this.mu[i]! + omega[i]! * this.sigma[i]!;
    return out;
  }

  /** n independent samples, [n, L, d] (a fresh c~ for every image, DESIGN §4). */
  sampleMany(n: number, rng: NormalSource): Float32Array {
    const size = this.mu.length;
    const out = new Float32Array(n * size);
    for (let i = 0; i < n; i++) out.set(this.sample(rng), i * size);
    return out;
  }

  /**
   * Mixes distributions with weights summing to 1 (eq. 7): mu* = sum a_i mu_i and
   * sigma* = sum sqrt(a_i) sigma_i ("paper") or sqrt(sum (a_i sigma_i)^2) ("rms").
   * @throws DistributionInputError (kind "request") on no inputs, mismatched shapes, negative
   *   weights or a sum other than 1.
   */
  static mix(dists: PromptDistribution[], weights: number[], mode: MixMode = "paper") {
    const bad = (message: string) => new DistributionInputError("request", message);
    if (dists.length === 0) throw bad("mix: no distributions");
    if (weights.length !== dists.length) throw bad("mix: one weight per distribution");
    if (weights.some((w) => !(w >= 0))) throw bad("mix: weights must be >= 0");
    const total = weights.reduce((a, b) => a + b, 0);
    if (Math.abs(total - 1) > 1e-6) throw bad(`mix: weights must sum to 1, got ${total}`);
    const shape = dists[0]!.shape;
    if (dists.some((d) => d.shape[0] !== shape[0] || d.shape[1] !== shape[1])) {
      throw bad("mix: distributions have different feature shapes");
    }
    const n = shape[0] * shape[1];
    const mu = new Float32Array(n);
    const sigma = new Float32Array(n);
    for (let j = 0; j < n; j++) {
      let m = 0, s = 0;
      dists.forEach((d, i) => {
        const a = weights[i]!;
        m += a * d.mu[j]!;
        s += mode === "paper" ? Math.sqrt(a) * d.sigma[j]! : (a * d.sigma[j]!) ** 2;
      });
      mu[j] = m;
      sigma[j] = mode === "paper" ? s : Math.sqrt(s);
    }
    return new PromptDistribution(mu, sigma, shape);
  }
}
