/**
 * DDPM training helpers (Ho et al. 2020): the forward process q(x_t | x0) of eq. (4), the
 * v-prediction target (Salimans & Ho 2022, "Progressive Distillation", v = α_t ε − σ_t x0), the
 * target for each prediction type, and Min-SNR-γ loss weights (Hang et al. 2023, "Efficient
 * Diffusion Training via Min-SNR Weighting Strategy").
 *
 * Inputs are batches flattened to one Float32Array ([B, ...] row-major) with one integer timestep
 * per batch item. Noising and velocities round every operation to float32, as torch does, so they
 * equal diffusers' `DDPMScheduler.add_noise` / `get_velocity` bit for bit.
 * @module
 */
import { f32 } from "./_numerics.ts";
import { alphasCumprod, PredictionType, type SchedulerConfig } from "./config.ts";
import { SchedulerError } from "./scheduler_error.ts";

/** Per item: sqrt(ᾱ_t), sqrt(1 - ᾱ_t) in float32, and the item size. */
function coefficients(
  who: string,
  config: SchedulerConfig,
  length: number,
  timesteps: ArrayLike<number>,
): { sa: Float32Array; sb: Float32Array; size: number } {
  const B = timesteps.length, T = config.num_train_timesteps;
  if (B === 0 || length % B !== 0) {
    throw new SchedulerError(
      "invalid_argument",
      `${who}: ${length} values do not split into ${B} batch items`,
    );
  }
  const ac = alphasCumprod(config);
  const sa = new Float32Array(B), sb = new Float32Array(B);
  for (let b = 0; b < B; b++) {
    const t = timesteps[b]!;
    if (!Number.isInteger(t) || t < 0 || t >= T) {
      throw new SchedulerError(
        "invalid_argument",
        `${who}: timestep ${t} (item ${b}) is not an integer in 0..${T - 1}`,
      );
    }
    sa[b] = Math.sqrt(ac[t]!);
    sb[b] = Math.sqrt(f32(1 - ac[t]!));
  }
  return { sa, sb, size: length / B };
}

/** out = p·u + q·w per item, each operation rounded to float32. */
function combine(
  who: string,
  config: SchedulerConfig,
  u: Float32Array,
  w: Float32Array,
  timesteps: ArrayLike<number>,
  pick: (sa: number, sb: number) => [number, number],
): Float32Array {
  if (u.length !== w.length) {
    throw new SchedulerError("invalid_argument", `${who}: ${u.length} vs ${w.length} values`);
  }
  const { sa, sb, size } = coefficients(who, config, u.length, timesteps);
  const out = new Float32Array(u.length);
  for (let b = 0; b < timesteps.length; b++) {
    const [p, q] = pick(sa[b]!, sb[b]!);
    for (let i = b * size; i < (b + 1) * size; i++) out[i] = f32(p * u[i]!) + f32(q * w[i]!);
  }
  return out;
}

/**
 * x_t = sqrt(ᾱ_t) x0 + sqrt(1 - ᾱ_t) ε (Ho et al. 2020, eq. 4).
 *
 * @param x0 Clean samples [B, ...]; @param noise ε, same length; @param timesteps [B] integers.
 * @throws {Error} On a length mismatch or a timestep outside 0..T-1.
 * @example
 * ```ts
 * import { addNoise, parseSchedulerConfig } from "./mod.ts";
 * const config = parseSchedulerConfig({});
 * const xt = addNoise(config, new Float32Array(8).fill(1), new Float32Array(8), [0, 999]);
 * console.assert(xt[0]! > 0.99 && xt[7]! < 0.01);
 * ```
 */
export function addNoise(
  config: SchedulerConfig,
  x0: Float32Array,
  noise: Float32Array,
  timesteps: ArrayLike<number>,
): Float32Array {
  return combine("addNoise", config, x0, noise, timesteps, (sa, sb) => [sa, sb]);
}

/**
 * v = sqrt(ᾱ_t) ε − sqrt(1 - ᾱ_t) x0 (Salimans & Ho 2022).
 *
 * @example
 * ```ts
 * import { getVelocity, parseSchedulerConfig } from "./mod.ts";
 * const v = getVelocity(parseSchedulerConfig({}), new Float32Array(4), new Float32Array(4), [5]);
 * console.assert(v[0] === 0);
 * ```
 */
export function getVelocity(
  config: SchedulerConfig,
  x0: Float32Array,
  noise: Float32Array,
  timesteps: ArrayLike<number>,
): Float32Array {
  return combine("getVelocity", config, noise, x0, timesteps, (sa, sb) => [sa, -sb]);
}

/**
 * What the model should output for x_t = addNoise(x0, noise, t): ε for `epsilon`, v for
 * `v_prediction`, x0 for `sample` (a fresh array in every case).
 *
 * @example
 * ```ts
 * import { parseSchedulerConfig, trainingTarget } from "./mod.ts";
 * const config = parseSchedulerConfig({ prediction_type: "epsilon" });
 * const noise = new Float32Array([0.5, -1]);
 * console.assert(trainingTarget(config, new Float32Array(2), noise, [3])[1] === -1);
 * ```
 */
export function trainingTarget(
  config: SchedulerConfig,
  x0: Float32Array,
  noise: Float32Array,
  timesteps: ArrayLike<number>,
): Float32Array {
  coefficients("trainingTarget", config, x0.length, timesteps);
  if (x0.length !== noise.length) {
    throw new SchedulerError(
      "invalid_argument",
      `trainingTarget: ${x0.length} vs ${noise.length} values`,
    );
  }
  switch (config.prediction_type) {
    case PredictionType.Epsilon:
      return noise.slice();
    case PredictionType.Sample:
      return x0.slice();
    case PredictionType.VPrediction:
      return getVelocity(config, x0, noise, timesteps);
  }
}

/**
 * Signal-to-noise ratio ᾱ_t / (1 − ᾱ_t) per timestep.
 *
 * @example
 * ```ts
 * import { parseSchedulerConfig, snr } from "./mod.ts";
 * const [hi, lo] = snr(parseSchedulerConfig({}), [0, 999]);
 * console.assert(hi! > lo!);
 * ```
 */
export function snr(config: SchedulerConfig, timesteps: ArrayLike<number>): Float64Array {
  coefficients("snr", config, timesteps.length, timesteps);
  const ac = alphasCumprod(config);
  return Float64Array.from(timesteps, (t) => ac[t]! / (1 - ac[t]!));
}

/**
 * Min-SNR-γ loss weights per timestep (Hang et al. 2023), for the config's prediction type:
 * ε: min(snr, γ)/snr; v: min(snr, γ)/(snr + 1); x0: min(snr, γ). Multiply each item's MSE by
 * its weight.
 *
 * @param gamma γ > 0 (the paper's and DESIGN's default: 5).
 * @example
 * ```ts
 * import { minSnrWeights, parseSchedulerConfig } from "./mod.ts";
 * const w = minSnrWeights(parseSchedulerConfig({}), [0, 999], 5);
 * console.assert(w[0]! < 1 && w[1] === 1);
 * ```
 */
export function minSnrWeights(
  config: SchedulerConfig,
  timesteps: ArrayLike<number>,
  gamma = 5,
): Float32Array {
  if (!(gamma > 0)) {
    throw new SchedulerError("invalid_argument", `minSnrWeights: gamma must be > 0, got ${gamma}`);
  }
  const s = snr(config, timesteps);
  return Float32Array.from(s, (v) => {
    const clipped = Math.min(v, gamma);
    switch (config.prediction_type) {
      case PredictionType.Epsilon:
        return clipped / v;
      case PredictionType.VPrediction:
        return clipped / (v + 1);
      case PredictionType.Sample:
        return clipped;
    }
  });
}
