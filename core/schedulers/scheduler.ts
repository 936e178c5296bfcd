/**
 * The one interface every inference scheduler implements.
 *
 * A scheduler instance holds only its frozen config and tables derived from it. Everything that
 * belongs to one sampling run lives in values the caller holds: the {@link SchedulerPlan} from
 * `setTimesteps`, and the {@link StepState} that `step` takes and returns. One instance can
 * therefore serve concurrent runs. Arrays passed in are never written to; arrays returned are
 * fresh. Randomness comes from the caller (`noise`), so `step` is a pure function.
 * @module
 */
import type { SchedulerConfig } from "./config.ts";
import { SchedulerError } from "./scheduler_error.ts";

/** The inference schedulers the project implements. */
export enum SchedulerKind {
  /** DDIM (Song et al. 2021), deterministic at eta = 0. */
  DDIM = "ddim",
  /** Euler ancestral sampling (Karras et al. 2022 with k-diffusion's ancestral step). */
  EulerAncestral = "euler_ancestral",
  /** DPM-Solver++(2M), multistep second order, midpoint form (Lu et al. 2022). */
  DPMSolverPP2M = "dpm_solver_pp_2m",
}

/** What `setTimesteps` returns: the schedule of one run. Plans are frozen. */
export interface SchedulerPlan {
  /** The scheduler kind that made the plan (a plan only fits its own kind). */
  readonly kind: SchedulerKind;
  /** The timesteps to give the model, strictly decreasing; one step each. */
  readonly timesteps: readonly number[];
  /** Standard deviation of the initial noise: multiply N(0, 1) latents by it. */
  readonly initNoiseSigma: number;
}

/**
 * A plan in the sigma (variance-exploding) parameterisation, sigma = sqrt((1 - ᾱ_t) / ᾱ_t):
 * Euler ancestral's and DPM-Solver++'s.
 */
export interface SigmaPlan extends SchedulerPlan {
  /** sigma_i (float32) per step, then the final sigma: length = steps + 1. */
  readonly sigmas: readonly number[];
}

/** Per-run memory of a multistep scheduler; frozen. Memoryless schedulers carry only `kind`. */
export interface StepState {
  readonly kind: SchedulerKind;
}

/** What one `step` returns. */
export interface StepResult {
  /** x at the next (lower) timestep. */
  prevSample: Float32Array<ArrayBuffer>;
  /** The x0 estimate of this step (DPM-Solver++ returns its data prediction). */
  predOriginalSample?: Float32Array<ArrayBuffer>;
  /** The state to pass to the next step. */
  state: StepState;
}

/**
 * The arguments of {@linkcode Scheduler.step}, one type for the interface and every scheduler:
 * the plan and state of the run, the step's index in `plan.timesteps`, the model's output for
 * the scaled input, the current sample, and (for a stochastic scheduler) N(0, 1) noise of the
 * sample's length.
 */
export type StepArgs = [
  plan: SchedulerPlan,
  state: StepState,
  stepIndex: number,
  modelOutput: Float32Array,
  sample: Float32Array,
  noise?: Float32Array,
];

/** Options that are not part of the model's scheduler config. */
export interface SchedulerOptions {
  /** DDIM's eta (eq. 16 of Song et al. 2021): 0 = deterministic (default), 1 = DDPM-like. */
  eta?: number;
}

/** An inference scheduler; see the module doc for the purity contract. */
export interface Scheduler {
  readonly kind: SchedulerKind;
  readonly config: SchedulerConfig;
  /** True when `step` needs `noise` (ancestral sampling, DDIM with eta > 0). */
  readonly stochastic: boolean;
  /**
   * The schedule for `numInferenceSteps` steps.
   * @throws {Error} Unless 1 <= numInferenceSteps <= num_train_timesteps and the spacing gives
   * distinct timesteps inside 0..T-1.
   */
  setTimesteps(numInferenceSteps: number): SchedulerPlan;
  /** The state before the first step. */
  initialState(plan: SchedulerPlan): StepState;
  /** The model input for step `stepIndex` (a fresh array, even when the scale is 1). */
  scaleModelInput(
    plan: SchedulerPlan,
    sample: Float32Array,
    stepIndex: number,
  ): Float32Array<ArrayBuffer>;
  /**
   * One denoising step from `plan.timesteps[stepIndex]` to the next.
   * @param args {@linkcode StepArgs}; `noise` is required when `stochastic`. The caller draws
   * it (core/random.ts), so the step itself is pure.
   */
  step(...args: StepArgs): StepResult;
}

/**
 * Narrows a plan or state to a scheduler's own type, refusing one made by another kind.
 *
 * @example
 * ```ts
 * import { checkKind, SchedulerKind } from "./scheduler.ts";
 * const plan = { kind: SchedulerKind.DDIM, timesteps: [1], initNoiseSigma: 1 };
 * checkKind<typeof plan>(plan, SchedulerKind.DDIM, "plan");
 * ```
 */
export function checkKind<T extends { readonly kind: SchedulerKind }>(
  value: { readonly kind: SchedulerKind },
  kind: SchedulerKind,
  what: string,
): T {
  if (value.kind !== kind) {
    throw new SchedulerError(
      "invalid_argument",
      `a ${value.kind} ${what} was given to the ${kind} scheduler`,
    );
  }
  return value as T;
}
