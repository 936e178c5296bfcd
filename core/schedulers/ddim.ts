/**
 * DDIM: Song, Meng & Ermon 2021, "Denoising Diffusion Implicit Models", generative process
 * eq. (12) with sigma_t(eta) from eq. (16). Behaves like diffusers v0.24 `DDIMScheduler`
 * (`use_clipped_model_output=False`), including its `prev_t = t - T // n` for every spacing.
 * @module
 */
import { alphasCumprod, PredictionType, type SchedulerConfig } from "./config.ts";
import { roundHalfEven } from "./_numerics.ts";
import { checkNumSteps, checkTimesteps, spacedTimesteps } from "./_spacing.ts";
import {
  SchedulerKind,
  type SchedulerOptions,
  type SchedulerPlan,
  type StepArgs,
  type StepResult,
} from "./scheduler.ts";
import { SchedulerBase } from "./_base.ts";
import { checkStep } from "./_checks.ts";
import { SchedulerError } from "./scheduler_error.ts";

/** A DDIM schedule: ᾱ at each timestep and at the timestep it steps to. */
export interface DDIMPlan extends SchedulerPlan {
  readonly kind: SchedulerKind.DDIM;
  /** t - T // n for each step (negative on the last steps: then `final_alpha_cumprod`). */
  readonly prevTimesteps: readonly number[];
  /** ᾱ_t per step. */
  readonly alphaProds: readonly number[];
  /** ᾱ_prev per step. */
  readonly alphaProdsPrev: readonly number[];
}

/**
 * The DDIM scheduler.
 *
 * @example
 * ```ts
 * import { parseSchedulerConfig } from "./config.ts";
 * import { DDIMScheduler } from "./ddim.ts";
 * const ddim = new DDIMScheduler(parseSchedulerConfig({ steps_offset: 1, clip_sample: false }));
 * const plan = ddim.setTimesteps(50);
 * let x = new Float32Array(16), state = ddim.initialState(plan);
 * for (let i = 0; i < plan.timesteps.length; i++) {
 *   const eps = new Float32Array(16); // the model's output at plan.timesteps[i]
 *   ({ prevSample: x, state } = ddim.step(plan, state, i, eps, x));
 * }
 * ```
 */
export class DDIMScheduler extends SchedulerBase {
  readonly kind = SchedulerKind.DDIM;
  readonly stochastic: boolean;
  protected readonly who = "DDIM";
  /** eta of eq. (16). */
  readonly eta: number;
  readonly #alphasCumprod: Float64Array;
  /** ᾱ used past t = 0: 1 with `set_alpha_to_one`, else ᾱ_0. */
  readonly finalAlphaCumprod: number;

  /**
   * @param config The scheduler config.
   * @param options `eta` >= 0 (default 0); eta > 0 makes `step` require noise.
   * @throws {Error} If eta is negative or not finite.
   */
  constructor(config: SchedulerConfig, options: SchedulerOptions = {}) {
    const eta = options.eta ?? 0;
    if (!(eta >= 0 && Number.isFinite(eta))) {
      throw new SchedulerError("invalid_options", `DDIM: eta must be >= 0, got ${eta}`);
    }
    super(config);
    this.eta = eta;
    this.stochastic = eta > 0;
    this.#alphasCumprod = alphasCumprod(config);
    this.finalAlphaCumprod = config.set_alpha_to_one ? 1 : this.#alphasCumprod[0]!;
  }

  setTimesteps(numInferenceSteps: number): DDIMPlan {
    checkNumSteps(this.who, numInferenceSteps, this.config);
    const timesteps = spacedTimesteps(this.config, numInferenceSteps).map(roundHalfEven);
    checkTimesteps(this.who, timesteps, this.config);
    const ratio = Math.floor(this.config.num_train_timesteps / numInferenceSteps);
    const prevTimesteps = timesteps.map((t) => t - ratio);
    const ac = this.#alphasCumprod;
    return Object.freeze({
      kind: SchedulerKind.DDIM as const,
      timesteps: Object.freeze(timesteps),
      initNoiseSigma: 1,
      prevTimesteps: Object.freeze(prevTimesteps),
      alphaProds: Object.freeze(timesteps.map((t) => ac[t]!)),
      alphaProdsPrev: Object.freeze(
        prevTimesteps.map((t) => (t >= 0 ? ac[t]! : this.finalAlphaCumprod)),
      ),
    });
  }

  step(...args: StepArgs): StepResult {
    const { plan: p, state, stepIndex, modelOutput, sample, noise } = checkStep<DDIMPlan>(
      this.who,
      this.kind,
      ...args,
    );
    if (this.stochastic && noise === undefined) {
      throw new SchedulerError(
        "invalid_argument",
        `DDIM: eta = ${this.eta} > 0 needs noise for every step`,
      );
    }
    // 1. ᾱ_t and ᾱ_{t-1} (the plan holds both, eq. 12's alpha_t and alpha_{t-1})
    const a = p.alphaProds[stepIndex]!, aPrev = p.alphaProdsPrev[stepIndex]!;
    const sa = Math.sqrt(a), sb = Math.sqrt(1 - a);
    // 2. sigma_t(eta), eq. (16)
    const variance = ((1 - aPrev) / (1 - a)) * (1 - a / aPrev);
    const std = this.eta * Math.sqrt(variance);
    // 3. coefficient of the "direction pointing to x_t", eq. (12)
    const dirCoef = Math.sqrt(Math.max(1 - aPrev - std * std, 0));
    const saPrev = Math.sqrt(aPrev);
    const clip = this.config.clip_sample ? this.config.clip_sample_range : Infinity;
    const type = this.config.prediction_type;
    const n = sample.length;
    const prevSample = new Float32Array(n), predOriginalSample = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const x = sample[i]!, m = modelOutput[i]!;
      // 4. "predicted x0" and epsilon, from the model's parameterisation
      let x0: number, eps: number;
      if (type === PredictionType.Epsilon) {
        x0 = (x - sb * m) / sa;
        eps = m;
      } else if (type === PredictionType.Sample) {
        x0 = m;
        eps = (x - sa * m) / sb;
      } else {
        x0 = sa * x - sb * m;
        eps = sa * m + sb * x;
      }
      x0 = Math.min(Math.max(x0, -clip), clip);
      predOriginalSample[i] = x0;
      // 5. x_{t-1} = sqrt(ᾱ_{t-1}) x0 + sqrt(1 - ᾱ_{t-1} - sigma_t^2) eps + sigma_t z, eq. (12)
      prevSample[i] = saPrev * x0 + dirCoef * eps + (noise === undefined ? 0 : std * noise[i]!);
    }
    return { prevSample, predOriginalSample, state };
  }
}
