/**
 * DPM-Solver++(2M): Lu et al. 2022, "DPM-Solver++: Fast Solver for Guided Sampling of Diffusion
 * Probabilistic Models", Algorithm 2 (multistep, second order, data prediction), in diffusers'
 * "midpoint" form. With alpha_t = 1/sqrt(sigma^2+1), sigma_t = sigma·alpha_t,
 * lambda_t = log(alpha_t / sigma_t) and h = lambda_t - lambda_s:
 *
 *   first order (= DDIM):  x_t = (sigma_t/sigma_s) x_s - alpha_t (e^{-h} - 1) x0_s
 *   second order:          x_t = (sigma_t/sigma_s) x_s - alpha_t (e^{-h} - 1) (D0 + D1/2),
 *                          D0 = x0_s, D1 = (x0_s - x0_prev) / r, r = h_prev / h
 *
 * Behaves like diffusers v0.24 `DPMSolverMultistepScheduler(algorithm_type="dpmsolver++",
 * solver_order=2, solver_type="midpoint")`: the first step is first order, and so is the last
 * when `lower_order_final` and fewer than 15 steps (or `euler_at_final`, or a zero final sigma).
 * The last sigma is sigma(t=0) (`final_sigmas_type` "sigma_min", the v0.24 convention) or 0.
 * @module
 */
import {
  FinalSigmas,
  PredictionType,
  type SchedulerConfig,
  sigmaSafeAlphasCumprod,
  TimestepSpacing,
} from "./config.ts";
import { f32, npLinspace, roundHalfEven, sigmasFromAlphasCumprod } from "./_numerics.ts";
import { checkNumSteps, checkTimesteps } from "./_spacing.ts";
import {
  checkKind,
  SchedulerKind,
  type SchedulerPlan,
  type SigmaPlan,
  type StepArgs,
  type StepResult,
  type StepState,
} from "./scheduler.ts";
import { SchedulerBase } from "./_base.ts";
import { checkLengths, checkStep } from "./_checks.ts";
import { SchedulerError } from "./scheduler_error.ts";

/** A DPM-Solver++ schedule: integer timesteps and sigma at each, then the final sigma. */
export interface DPMSolverPPPlan extends SigmaPlan {
  readonly kind: SchedulerKind.DPMSolverPP2M;
}

/** The multistep memory: the previous step's x0 prediction. */
export interface DPMSolverPPState extends StepState {
  readonly kind: SchedulerKind.DPMSolverPP2M;
  /** Index of the step that produced `previousX0`, -1 before the first step. */
  readonly lastStepIndex: number;
  /** x0 prediction of step `lastStepIndex` (never written to), null before the first step. */
  readonly previousX0: Float32Array | null;
}

/** A step's result, with the state typed. */
export interface DPMSolverPPStepResult extends StepResult {
  state: DPMSolverPPState;
}

/** alpha_t, sigma_t and lambda_t of a VE sigma (diffusers' `_sigma_to_alpha_sigma_t`). */
function alphaSigmaLambda(sigma: number): [number, number, number] {
  const alpha = 1 / Math.sqrt(sigma * sigma + 1);
  const s = sigma * alpha;
  return [alpha, s, Math.log(alpha) - Math.log(s)];
}

/**
 * The DPM-Solver++(2M) scheduler.
 *
 * @example
 * ```ts
 * import { parseSchedulerConfig } from "./config.ts";
 * import { DPMSolverPPScheduler } from "./dpm_solver_pp.ts";
 * const dpm = new DPMSolverPPScheduler(parseSchedulerConfig({ beta_schedule: "scaled_linear" }));
 * const plan = dpm.setTimesteps(20);
 * let x = new Float32Array(16).fill(1), state = dpm.initialState(plan);
 * for (let i = 0; i < plan.timesteps.length; i++) {
 *   const eps = new Float32Array(16); // the model's output at plan.timesteps[i]
 *   ({ prevSample: x, state } = dpm.step(plan, state, i, eps, x));
 * }
 * ```
 */
export class DPMSolverPPScheduler extends SchedulerBase {
  readonly kind = SchedulerKind.DPMSolverPP2M;
  readonly stochastic = false;
  protected readonly who = "DPM-Solver++";
  readonly #alphasCumprod: Float64Array;
  readonly #trainSigmas: Float32Array;

  /** With `rescale_betas_zero_snr`, ᾱ_T is 2^-24 (`sigmaSafeAlphasCumprod`), as in diffusers. */
  constructor(config: SchedulerConfig) {
    super(config);
    this.#alphasCumprod = sigmaSafeAlphasCumprod(config);
    this.#trainSigmas = sigmasFromAlphasCumprod(this.#alphasCumprod);
  }

  /** T minus the number of timesteps whose lambda (float32) is below `lambda_min_clipped`. */
  #lastTimestep(): number {
    const min = this.config.lambda_min_clipped;
    let clipped = 0;
    for (const a of this.#alphasCumprod) {
      const lambda = f32(f32(Math.log(f32(Math.sqrt(a)))) - f32(Math.log(f32(Math.sqrt(1 - a)))));
      if (lambda < min) clipped++;
    }
    return this.config.num_train_timesteps - clipped;
  }

  setTimesteps(numInferenceSteps: number): DPMSolverPPPlan {
    const who = this.who;
    const config = this.config;
    checkNumSteps(who, numInferenceSteps, config);
    const n = numInferenceSteps, last = this.#lastTimestep();
    let timesteps: number[];
    if (config.timestep_spacing === TimestepSpacing.Linspace) {
      timesteps = npLinspace(0, last - 1, n + 1).map(roundHalfEven).reverse().slice(0, n);
    } else if (config.timestep_spacing === TimestepSpacing.Leading) {
      const ratio = Math.floor(last / (n + 1));
      timesteps = Array.from({ length: n }, (_, i) => (n - i) * ratio + config.steps_offset);
    } else {
      const ratio = config.num_train_timesteps / n;
      const starts = Array.from({ length: Math.ceil(last / ratio) }, (_, i) => last - i * ratio);
      timesteps = starts.map((v) => roundHalfEven(v) - 1).filter((t) => t >= 0);
    }
    checkTimesteps(who, timesteps, config);
    const finalSigma = config.final_sigmas_type === FinalSigmas.Zero ? 0 : this.#trainSigmas[0]!;
    return Object.freeze({
      kind: SchedulerKind.DPMSolverPP2M as const,
      timesteps: Object.freeze(timesteps),
      initNoiseSigma: 1,
      sigmas: Object.freeze([...timesteps.map((t) => this.#trainSigmas[t]!), finalSigma]),
    });
  }

  override initialState(plan: SchedulerPlan): DPMSolverPPState {
    checkKind(plan, this.kind, "plan");
    return Object.freeze({ kind: this.kind, lastStepIndex: -1, previousX0: null });
  }

  /** Deterministic: `noise` is not used (nor checked). */
  step(...[plan, state, stepIndex, modelOutput, sample]: StepArgs): DPMSolverPPStepResult {
    const { plan: p, state: s } = checkStep<DPMSolverPPPlan, DPMSolverPPState>(
      this.who,
      this.kind,
      plan,
      state,
      stepIndex,
      modelOutput,
      sample,
    );
    const steps = p.timesteps.length;
    if (s.previousX0 !== null && s.lastStepIndex !== stepIndex - 1) {
      throw new SchedulerError(
        "invalid_argument",
        `DPM-Solver++: the state is from step ${s.lastStepIndex}, so the next step is ` +
          `${s.lastStepIndex + 1}, not ${stepIndex}`,
      );
    }
    if (s.previousX0 !== null) checkLengths(this.who, sample, s.previousX0);
    // 1. the model output as a data (x0) prediction at sigma_s
    const [alphaS, sigmaS, lambdaS] = alphaSigmaLambda(p.sigmas[stepIndex]!);
    const x0 = new Float32Array(sample.length);
    const type = this.config.prediction_type;
    for (let i = 0; i < x0.length; i++) {
      const x = sample[i]!, m = modelOutput[i]!;
      x0[i] = type === PredictionType.Epsilon
        ? (x - sigmaS * m) / alphaS
        : type === PredictionType.VPrediction
        ? alphaS * x - sigmaS * m
        : m;
    }
    // 2. order: first on the first step and, for short runs, the last (numerical stability)
    const isLast = stepIndex === steps - 1;
    const lowerOrderFinal = isLast &&
      (this.config.euler_at_final || (this.config.lower_order_final && steps < 15) ||
        p.sigmas[steps] === 0);
    const m1 = lowerOrderFinal ? null : s.previousX0;
    // 3. the update from lambda_s to lambda_t (Algorithm 2)
    const [alphaT, sigmaT, lambdaT] = alphaSigmaLambda(p.sigmas[stepIndex + 1]!);
    const h = lambdaT - lambdaS;
    const cx = sigmaT / sigmaS, c0 = alphaT * Math.expm1(-h);
    const prevSample = new Float32Array(sample.length);
    if (m1 === null) {
      for (let i = 0; i < x0.length; i++) prevSample[i] = cx * sample[i]! - c0 * x0[i]!;
    } else {
      const lambdaPrev = alphaSigmaLambda(p.sigmas[stepIndex - 1]!)[2];
      const r = (lambdaS - lambdaPrev) / h;
      for (let i = 0; i < x0.length; i++) {
        const d1 = (x0[i]! - m1[i]!) / r;
        prevSample[i] = cx * sample[i]! - c0 * x0[i]! - 0.5 * c0 * d1;
      }
    }
    const next: DPMSolverPPState = Object.freeze({
      kind: this.kind,
      lastStepIndex: stepIndex,
      previousX0: x0,
    });
    return { prevSample, predOriginalSample: x0.slice(), state: next };
  }
}
