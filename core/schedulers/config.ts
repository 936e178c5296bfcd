/**
 * The scheduler configuration shared by every scheduler (diffusers' `scheduler_config.json`),
 * and the noise schedule it defines: betas and alphas_cumprod, computed exactly as diffusers
 * v0.24 does in float32 PyTorch (see `_numerics.ts`).
 *
 * Keys keep diffusers' snake_case names so that a config round-trips as JSON. Unknown keys
 * (`_class_name`, `skip_prk_steps`, `solver_order`, ...) are ignored: the scheduler *kind* picks
 * the algorithm. Missing keys take `DDIMScheduler`'s defaults. Options that would change the
 * maths but are not implemented (`thresholding`, Karras or Lu sigmas) are refused by name.
 * @module
 */
import { z } from "zod";
import { torchCumprodF32, torchLinspaceF32 } from "./_numerics.ts";
import { SchedulerError } from "./scheduler_error.ts";

/** How betas are laid out over the training timesteps. */
export enum BetaSchedule {
  /** betas = linspace(beta_start, beta_end, T) (Ho et al. 2020). */
  Linear = "linear",
  /** betas = linspace(sqrt(beta_start), sqrt(beta_end), T)^2 (latent diffusion / SD). */
  ScaledLinear = "scaled_linear",
  /** Glide cosine schedule (Nichol & Dhariwal 2021, eq. 17), betas capped at 0.999. */
  SquaredCosCapV2 = "squaredcos_cap_v2",
}

/** What the denoising model predicts. */
export enum PredictionType {
  /** The added noise epsilon. */
  Epsilon = "epsilon",
  /** v = sqrt(a_t) eps - sqrt(1 - a_t) x0 (Salimans & Ho 2022). */
  VPrediction = "v_prediction",
  /** The clean sample x0. */
  Sample = "sample",
}

/** How inference timesteps are spread (Lin et al. 2023, "Common Diffusion Noise Schedules and
 * Sample Steps are Flawed", Table 2). */
export enum TimestepSpacing {
  Leading = "leading",
  Trailing = "trailing",
  Linspace = "linspace",
}

/** The last sigma of DPM-Solver++ plans. */
export enum FinalSigmas {
  /** sigma at t = 0, as diffusers v0.24 (the reference fixture) does. */
  SigmaMin = "sigma_min",
  /** 0: the last step lands on the model's x0 prediction (later diffusers default). */
  Zero = "zero",
}

const unitInterval = (name: string) =>
  z.number().refine((v) => v > 0 && v < 1, { error: `${name} must be in (0, 1)` });

const refused = (name: string, why: string) =>
  z.boolean().default(false).refine((v) => !v, {
    error: `${name}: true is not supported (${why})`,
  });

const lambdaMin = z.union([
  z.number(),
  z.literal("-Infinity").transform(() => -Infinity),
]).default(-Infinity);

/** zod schema of `scheduler_config.json`; unknown keys are dropped. */
export const SchedulerConfigSchema = z.object({
  num_train_timesteps: z.number().int().min(2).max(100_000).default(1000),
  beta_start: unitInterval("beta_start").default(0.0001),
  beta_end: unitInterval("beta_end").default(0.02),
  beta_schedule: z.enum(BetaSchedule).default(BetaSchedule.Linear),
  trained_betas: z.array(
    z.number().refine((v) => v > 0 && v <= 1, { error: "trained_betas must be in (0, 1]" }),
  ).nullable().default(null),
  prediction_type: z.enum(PredictionType).default(PredictionType.Epsilon),
  timestep_spacing: z.enum(TimestepSpacing).default(TimestepSpacing.Leading),
  steps_offset: z.number().int().min(0).default(0),
  set_alpha_to_one: z.boolean().default(true),
  clip_sample: z.boolean().default(true),
  clip_sample_range: z.number().positive().default(1),
  rescale_betas_zero_snr: z.boolean().default(false),
  thresholding: refused("thresholding", "dynamic thresholding is not implemented"),
  use_karras_sigmas: refused("use_karras_sigmas", "Karras sigmas are not implemented"),
  use_lu_lambdas: refused("use_lu_lambdas", "Lu lambdas are not implemented"),
  lower_order_final: z.boolean().default(true),
  euler_at_final: z.boolean().default(false),
  final_sigmas_type: z.enum(FinalSigmas).default(FinalSigmas.SigmaMin),
  lambda_min_clipped: lambdaMin,
}).superRefine((c, ctx) => {
  if (c.trained_betas !== null && c.trained_betas.length !== c.num_train_timesteps) {
    ctx.addIssue({
      code: "custom",
      path: ["trained_betas"],
      message:
        `has ${c.trained_betas.length} values, num_train_timesteps is ${c.num_train_timesteps}`,
    });
  }
  if (c.trained_betas === null && c.beta_start > c.beta_end) {
    ctx.addIssue({
      code: "custom",
      path: ["beta_start"],
      message: `${c.beta_start} is larger than beta_end ${c.beta_end}`,
    });
  }
});

/** A parsed, frozen scheduler config. */
export type SchedulerConfig = Readonly<z.infer<typeof SchedulerConfigSchema>>;

/**
 * Parses and validates a scheduler config (the object of `scheduler_config.json`).
 *
 * @param json The parsed JSON object.
 * @returns The frozen config, defaults filled in.
 * @throws {Error} Naming every invalid field, e.g. `num_train_timesteps: Too small: ...`.
 * @example
 * ```ts
 * import { parseSchedulerConfig } from "./config.ts";
 * const config = parseSchedulerConfig({ beta_schedule: "scaled_linear", steps_offset: 1 });
 * console.assert(config.num_train_timesteps === 1000);
 * ```
 */
export function parseSchedulerConfig(json: unknown): SchedulerConfig {
  const parsed = SchedulerConfigSchema.safeParse(json);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new SchedulerError("invalid_config", `invalid scheduler config: ${lines.join("; ")}`);
  }
  return Object.freeze(parsed.data);
}

/** Glide's cosine alpha_bar(t) (Nichol & Dhariwal 2021, eq. 17, s = 0.008). */
function cosineAlphaBar(t: number): number {
  return Math.cos(((t + 0.008) / 1.008) * Math.PI / 2) ** 2;
}

/**
 * Rescales betas to zero terminal SNR (Lin et al. 2023, Algorithm 1), in float32 like diffusers.
 */
function rescaleZeroTerminalSnr(betas: Float32Array): Float32Array {
  const f32 = Math.fround;
  const ac = torchCumprodF32(betas.map((b) => f32(1 - b)));
  const sqrt = ac.map((a) => Math.sqrt(a));
  const first = sqrt[0]!, last = sqrt[sqrt.length - 1]!;
  const scale = f32(first / f32(first - last));
  const bar = sqrt.map((s) => f32(f32(s - last) * scale) ** 2);
  return bar.map((b, i) => f32(1 - (i === 0 ? b : f32(b / bar[i - 1]!))));
}

/**
 * The betas of a config as float32, as diffusers builds them.
 *
 * @example
 * ```ts
 * import { betas, parseSchedulerConfig } from "./config.ts";
 * console.assert(betas(parseSchedulerConfig({})).length === 1000);
 * ```
 */
export function betas(config: SchedulerConfig): Float32Array {
  const T = config.num_train_timesteps;
  let b: Float32Array;
  if (config.trained_betas !== null) {
    b = Float32Array.from(config.trained_betas);
  } else if (config.beta_schedule === BetaSchedule.Linear) {
    b = torchLinspaceF32(config.beta_start, config.beta_end, T);
  } else if (config.beta_schedule === BetaSchedule.ScaledLinear) {
    const r = torchLinspaceF32(Math.sqrt(config.beta_start), Math.sqrt(config.beta_end), T);
    b = r.map((x) => x * x);
  } else {
    b = Float32Array.from(
      { length: T },
      (_, i) => Math.min(1 - cosineAlphaBar((i + 1) / T) / cosineAlphaBar(i / T), 0.999),
    );
  }
  return config.rescale_betas_zero_snr ? rescaleZeroTerminalSnr(b) : b;
}

const cumprodCache = new WeakMap<SchedulerConfig, Float64Array>();

/**
 * alphas_cumprod (ᾱ_t, Ho et al. 2020 eq. 4) of a config: cumprod(1 - betas), float32 values held
 * in a Float64Array (equal to diffusers' tensor bit for bit). Cached per config object; do not
 * write to the result.
 *
 * @example
 * ```ts
 * import { alphasCumprod, parseSchedulerConfig } from "./config.ts";
 * const ac = alphasCumprod(parseSchedulerConfig({}));
 * console.assert(ac[0]! < 1 && ac[999]! > 0);
 * ```
 */
export function alphasCumprod(config: SchedulerConfig): Float64Array {
  let ac = cumprodCache.get(config);
  if (ac === undefined) {
    ac = Float64Array.from(torchCumprodF32(betas(config).map((b) => Math.fround(1 - b))));
    cumprodCache.set(config, ac);
  }
  return ac;
}

/**
 * ᾱ for the samplers parameterised by sigma = sqrt((1 − ᾱ)/ᾱ) (Euler ancestral, DPM-Solver++).
 * With `rescale_betas_zero_snr` the last value is 2^-24 instead of 0, as in diffusers, so the
 * first sigma is finite (about 4096) instead of infinite; otherwise `alphasCumprod` itself.
 *
 * @example
 * ```ts
 * import { parseSchedulerConfig, sigmaSafeAlphasCumprod } from "./config.ts";
 * const ac = sigmaSafeAlphasCumprod(parseSchedulerConfig({ rescale_betas_zero_snr: true }));
 * console.assert(ac[999] === 2 ** -24);
 * ```
 */
export function sigmaSafeAlphasCumprod(config: SchedulerConfig): Float64Array {
  const ac = alphasCumprod(config);
  if (!config.rescale_betas_zero_snr) return ac;
  const safe = ac.slice(); // alphasCumprod's array is cached and shared
  safe[safe.length - 1] = 2 ** -24;
  return safe;
}
