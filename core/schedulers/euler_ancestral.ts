/**
 * Euler ancestral sampling in the sigma (variance-exploding) parameterisation of Karras et al.
 * 2022, "Elucidating the Design Space of Diffusion-Based Generative Models": x = x0 + sigma·eps
 * with sigma = sqrt((1 - ᾱ_t) / ᾱ_t); one Euler step of the probability-flow ODE (their eq. 1,
 * Algorithm 1) down to sigma_down, then fresh noise of std sigma_up (k-diffusion's
 * `get_ancestral_step`). Behaves like diffusers v0.24 `EulerAncestralDiscreteScheduler`; unlike
 * it, `sample` prediction is supported (x0 = model output).
 * @module
 */
import {
  PredictionType,
  type SchedulerConfig,
  sigmaSafeAlphasCumprod,
  TimestepSpacing,
} from "./config.ts";
import { f32, npInterpUnitGrid, sigmasFromAlphasCumprod } from "./_numerics.ts";
import { checkNumSteps, checkTimesteps, spacedTimesteps } from "./_spacing.ts";
import {
  SchedulerKind,
  type SchedulerPlan,
  type SigmaPlan,
  type StepArgs,
  type StepResult,
} from "./scheduler.ts";
import { SchedulerBase } from "./_base.ts";
import { checkModelInput, checkStep } from "./_checks.ts";
import { SchedulerError } from "./scheduler_error.ts";

/** An Euler-ancestral schedule: float32 timesteps and the sigma at each, then a final 0. */
export interface EulerAncestralPlan extends SigmaPlan {
  readonly kind: SchedulerKind.EulerAncestral;
}

/**
 * The Euler ancestral scheduler. Its `step` needs N(0, 1) `noise` of the sample's length.
 *
 * @example
 * ```ts
 * import { parseSchedulerConfig } from "./config.ts";
 * import { EulerAncestralScheduler } from "./euler_ancestral.ts";
 * import { Rng } from "../random.ts";
 * const euler = new EulerAncestralScheduler(parseSchedulerConfig({ steps_offset: 1 }));
 * const plan = euler.setTimesteps(20), rng = new Rng(7);
 * let x = rng.normals(16).map((v) => v * plan.initNoiseSigma), state = euler.initialState(plan);
 * for (let i = 0; i < plan.timesteps.length; i++) {
 *   const input = euler.scaleModelInput(plan, x, i); // feed this to the model
 *   const eps = new Float32Array(input.length); // the model's output
 *   const noise = rng.fork(i).normals(x.length);
 *   ({ prevSample: x, state } = euler.step(plan, state, i, eps, x, noise));
 * }
 * ```
 */
export class EulerAncestralScheduler extends SchedulerBase {
  readonly kind = SchedulerKind.EulerAncestral;
  readonly stochastic = true;
  protected readonly who = "Euler ancestral";
  /** sigma(t) for t = 0..T-1, float32 like diffusers. */
  readonly #trainSigmas: Float32Array;

  /** With `rescale_betas_zero_snr`, ᾱ_T is 2^-24 (`sigmaSafeAlphasCumprod`), as in diffusers. */
  constructor(config: SchedulerConfig) {
    super(config);
    this.#trainSigmas = sigmasFromAlphasCumprod(sigmaSafeAlphasCumprod(config));
  }

  setTimesteps(numInferenceSteps: number): EulerAncestralPlan {
    checkNumSteps(this.who, numInferenceSteps, this.config);
    const timesteps = spacedTimesteps(this.config, numInferenceSteps).map(f32);
    checkTimesteps(this.who, timesteps, this.config);
    // sigmas at the (possibly fractional) timesteps by linear interpolation, then 0
    const sigmas = [...timesteps.map((t) => f32(npInterpUnitGrid(t, this.#trainSigmas))), 0];
    const max = Math.max(...sigmas);
    const spacing = this.config.timestep_spacing;
    const initNoiseSigma = spacing === TimestepSpacing.Leading
      ? f32(Math.sqrt(f32(f32(max * max) + 1)))
      : max;
    return Object.freeze({
      kind: SchedulerKind.EulerAncestral as const,
      timesteps: Object.freeze(timesteps),
      initNoiseSigma,
      sigmas: Object.freeze(sigmas),
    });
  }

  /** x / sqrt(sigma^2 + 1): the variance-preserving input the model was trained on. */
  override scaleModelInput(
    plan: SchedulerPlan,
    sample: Float32Array,
    stepIndex: number,
  ): Float32Array<ArrayBuffer> {
    const p = checkModelInput<EulerAncestralPlan>(this.who, this.kind, plan, stepIndex);
    const sigma = p.sigmas[stepIndex]!;
    const d = f32(Math.sqrt(f32(f32(sigma * sigma) + 1)));
    return sample.map((x) => x / d);
  }

  step(...args: StepArgs): StepResult {
    const { plan: p, state, stepIndex, modelOutput, sample, noise } = checkStep<
      EulerAncestralPlan
    >(this.who, this.kind, ...args);
    if (noise === undefined) {
      throw new SchedulerError("invalid_argument", "Euler ancestral: step needs noise");
    }
    const sigma = p.sigmas[stepIndex]!, sigmaTo = p.sigmas[stepIndex + 1]!;
    // 1. ancestral split of sigma_to: sigma_to^2 = sigma_down^2 + sigma_up^2
    const sigmaUp = Math.sqrt((sigmaTo ** 2 * (sigma ** 2 - sigmaTo ** 2)) / sigma ** 2);
    const sigmaDown = Math.sqrt(Math.max(sigmaTo ** 2 - sigmaUp ** 2, 0));
    const dt = sigmaDown - sigma;
    // 2. x0 from the model output; for v: c_skip = 1/(sigma^2+1), c_out = -sigma/sqrt(sigma^2+1)
    const cSkip = 1 / (sigma * sigma + 1), cOut = -sigma / Math.sqrt(sigma * sigma + 1);
    const type = this.config.prediction_type;
    const n = sample.length;
    const prevSample = new Float32Array(n), predOriginalSample = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const x = sample[i]!, m = modelOutput[i]!;
      const x0 = type === PredictionType.Epsilon
        ? x - sigma * m
        : type === PredictionType.VPrediction
        ? m * cOut + x * cSkip
        : m;
      predOriginalSample[i] = x0;
      // 3. Euler step of dx/dsigma = (x - x0) / sigma (Karras eq. 1), then the noise
      const derivative = (x - x0) / sigma;
      prevSample[i] = x + derivative * dt + noise[i]! * sigmaUp;
    }
    return { prevSample, predOriginalSample, state };
  }
}
