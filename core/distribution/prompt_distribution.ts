/**
 * The learned distribution over text features: a diagonal Gaussian N(mu, sigma^2) on the
 * [L, d] output of the text encoder (DreamDistribution §3.2). Sampling, diversity scaling
 * (§4.3, sigma' = gamma sigma) and mixing (eq. 7) are plain arithmetic on mu and sigma.
 *
 * It may also keep the K prompt features themselves (as deviations c_k - mu), which the
 * samplers of DESIGN §4b need (`SamplerKind`):
 * - "diagonal" (paper): c~ = mu + gamma * sigma ⊙ omega, omega ~ N(0, I);
 * - "low_rank": c~ = mu + gamma * Σ_k w_k (c_k - mu) / sqrt(K - 1), w ~ N(0, I_K): the
 *   sample covariance of the K features, so samples stay in their span;
 * - "mixture": pick k uniformly, then c~ = c_k + gamma * h * Σ_j w_j (c_j - mu) / sqrt(K - 1)
 *   with h = `MIXTURE_BANDWIDTH`: each sample stays near one learned prompt, and gamma widens
 *   the kernel around it within the prompts' own spread.
 *
 * @module
 */
import { DistributionInputError } from "./errors.ts";

/** Anything that yields standard normal samples (core/random.ts's Rng does). */
export interface NormalSource {
  normals(n: number): Float32Array;
}

/** A normal source that may also yield uniforms in [0, 1) (the mixture sampler needs them). */
export interface SampleSource extends NormalSource {
  uniform?(): number;
}

/** The row whose cumulative probability first exceeds u. */
function pickRow(pick: Float32Array, u: number): number {
  let acc = 0;
  for (let r = 0; r < pick.length; r++) {
    acc += pick[r]!;
    if (u < acc) return r;
  }
  return pick.length - 1;
}

/** How sigma is estimated from the K prompt features. */
export type SigmaEstimator = "unbiased" | "population";

/** How mixed sigmas combine: the paper's eq. 7 (sum sqrt(a_i) sigma_i) or "rms". */
export type MixMode = "paper" | "rms";

/** How c~ is drawn: the paper's diagonal Gaussian, or one of DESIGN §4b's samplers. */
export type SamplerKind = "diagonal" | "low_rank" | "mixture";

/** The samplers, in a fixed order (for schemas and sweeps). */
export const SAMPLER_KINDS = [
  "diagonal",
  "low_rank",
  "mixture",
] as const satisfies readonly SamplerKind[];

/**
 * The sampler used when a request names none: the product default, with
 * `DEFAULT_OBJECTIVE`, chosen by protocol v2 of `deno task eval` on the development concepts
 * (the README's evaluation says why). Every sampler stays available.
 */
export const DEFAULT_SAMPLER: SamplerKind = "diagonal";

/**
 * Kernel width of the mixture sampler in units of the prompts' spread: at gamma 1 a sample
 * moves half a standard deviation of the K features away from its prompt, so gamma 0 gives
 * exactly the K prompts and gamma 2 reaches as far as the spread between them.
 */
export const MIXTURE_BANDWIDTH = 0.5;

/**
 * The K prompt features of a distribution (or of several, after a mix), as rows
 * D_r = c_r - mu_i of the distribution i they came from.
 */
export interface PromptSpread {
  /** Deviations [R, L * d]. */
  deviations: Float32Array;
  /** Probability of picking each row in the mixture sampler (sums to 1). */
  pick: Float32Array;
  /** Coefficient scale of each row in the low-rank sum: sqrt(a_i / (K_i - 1)), 0 when K_i = 1. */
  lowRankScale: Float32Array;
}

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
  /**
   * @param spread The prompt features, for the low-rank and mixture samplers (absent: only
   *   the diagonal sampler is available).
   * @param gamma The diversity scale already applied to sigma (by `scaled`), which the other
   *   samplers apply to the spread.
   */
  constructor(
    readonly mu: Float32Array,
    readonly sigma: Float32Array,
    readonly shape: readonly [number, number],
    readonly spread?: PromptSpread,
    readonly gamma = 1,
  ) {
    const n = shape[0] * shape[1];
    if (mu.length !== n || sigma.length !== n) {
      throw new Error(`PromptDistribution: mu/sigma must have ${n} values (shape ${shape})`);
    }
    if (spread) {
      const R = spread.pick.length;
      if (spread.deviations.length !== R * n || spread.lowRankScale.length !== R || R === 0) {
        throw new Error(`PromptDistribution: spread must have R rows of ${n} values`);
      }
    }
  }

  /**
   * A distribution that keeps its K prompt features c [K, L, d] (fit as in `fromFeatures`),
   * so every sampler is available.
   *
   * @example
   * ```ts
   * import { PromptDistribution } from "./prompt_distribution.ts";
   * const c = Float32Array.from([0, 0, 2, 2]); // K = 2 features of shape [1, 2]
   * const d = PromptDistribution.withFeatures(c, 2, [1, 2]);
   * console.assert(d.mu[0] === 1 && d.spread!.deviations[0] === -1);
   * ```
   */
  static withFeatures(
    c: Float32Array,
    K: number,
    shape: readonly [number, number],
    estimator: SigmaEstimator = "unbiased",
  ): PromptDistribution {
    const fit = K >= 2
      ? PromptDistribution.fromFeatures(c, K, shape, estimator)
      : PromptDistribution.fromFeatures(c, K, shape, "population");
    const n = shape[0] * shape[1];
    const deviations = new Float32Array(K * n);
    for (let k = 0; k < K; k++) {
      for (let j = 0; j < n; j++) deviations[k * n + j] = c[k * n + j]! - fit.mu[j]!;
    }
    return new PromptDistribution(fit.mu, fit.sigma, shape, {
      deviations,
      pick: new Float32Array(K).fill(1 / K),
      lowRankScale: new Float32Array(K).fill(K > 1 ? 1 / Math.sqrt(K - 1) : 0),
    });
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
    return new PromptDistribution(
      this.mu,
      this.sigma.map((s) => s * gamma),
      this.shape,
      this.spread,
      this.gamma * gamma,
    );
  }

  /**
   * One sample c~ (see the module notes for each sampler).
   * @throws DistributionInputError (kind "request") when the sampler needs prompt features
   *   that this distribution does not keep.
   */
  sample(rng: SampleSource, sampler: SamplerKind = "diagonal"): Float32Array {
    const out = new Float32Array(this.mu.length);
    if (sampler === "diagonal") {
      const omega = rng.normals(this.mu.length);
      for (let i = 0; i < out.length; i++) out[i] = this.mu[i]! + omega[i]! * this.sigma[i]!;
      return out;
    }
    const spread = this.spread;
    if (!spread) {
      throw new DistributionInputError(
        "request",
        `the ${sampler} sampler needs the prompt features, which this distribution does not keep`,
      );
    }
    out.set(this.mu);
    const n = out.length;
    const w = rng.normals(spread.pick.length);
    const scale = this.gamma * (sampler === "mixture" ? MIXTURE_BANDWIDTH : 1);
    for (let r = 0; r < w.length; r++) {
      const a = scale * w[r]! * spread.lowRankScale[r]!;
      if (a === 0) continue;
      const row = spread.deviations.subarray(r * n, (r + 1) * n);
      for (let j = 0; j < n; j++) out[j]! += a * row[j]!;
    }
    if (sampler === "mixture") {
      if (!rng.uniform) throw new Error("the mixture sampler needs a source of uniforms");
      const row = spread.deviations.subarray(pickRow(spread.pick, rng.uniform()) * n);
      for (let j = 0; j < n; j++) out[j]! += row[j]!;
    }
    return out;
  }

  /** n independent samples, [n, L, d] (a fresh c~ for every image, DESIGN §4). */
  sampleMany(
    n: number,
    rng: SampleSource,
    sampler: SamplerKind = "diagonal",
  ): Float32Array {
    const size = this.mu.length;
    const out = new Float32Array(n * size);
    for (let i = 0; i < n; i++) out.set(this.sample(rng, sampler), i * size);
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
    return new PromptDistribution(mu, sigma, shape, mixSpreads(dists, weights, n));
  }
}

/**
 * The spreads of mixed distributions side by side: distribution i's rows are picked with
 * probability a_i / K_i and enter the low-rank sum with sqrt(a_i) (so the mixed covariance is
 * Σ a_i Σ_i). Undefined unless every input keeps its prompt features.
 */
function mixSpreads(
  dists: PromptDistribution[],
  weights: number[],
  n: number,
): PromptSpread | undefined {
  if (dists.some((d) => !d.spread || d.gamma !== 1)) return undefined;
  // A weight of 0 leaves a distribution out entirely, so a mix (1, 0) samples exactly as the
  // first distribution alone (same rows, same random draws).
  const kept = dists.flatMap((d, i) => (weights[i]! > 0 ? [{ d, a: weights[i]! }] : []));
  const R = kept.reduce((acc, { d }) => acc + d.spread!.pick.length, 0);
  const out: PromptSpread = {
    deviations: new Float32Array(R * n),
    pick: new Float32Array(R),
    lowRankScale: new Float32Array(R),
  };
  let at = 0;
  kept.forEach(({ d, a }) => {
    const s = d.spread!;
    out.deviations.set(s.deviations, at * n);
    for (let r = 0; r < s.pick.length; r++) {
      out.pick[at + r] = a * s.pick[r]!;
      out.lowRankScale[at + r] = Math.sqrt(a) * s.lowRankScale[r]!;
    }
    at += s.pick.length;
  });
  return out;
}
