/**
 * The argument checks every scheduler makes before its maths, in one place: the plan and state
 * are the scheduler's own kind, the step index lies in the plan, and the arrays have the
 * sample's length. Each scheduler adds only what is its own (noise required, multistep order).
 * @module
 */
import {
  checkKind,
  type SchedulerKind,
  type SchedulerPlan,
  type StepArgs,
  type StepState,
} from "./scheduler.ts";
import { SchedulerError } from "./scheduler_error.ts";

/** Throws unless `modelOutput` (and `noise`, when given) have the sample's length. */
export function checkLengths(
  who: string,
  sample: Float32Array,
  modelOutput: Float32Array,
  noise?: Float32Array,
): void {
  if (modelOutput.length !== sample.length) {
    throw new SchedulerError(
      "invalid_argument",
      `${who}: modelOutput has ${modelOutput.length} values but sample has ${sample.length}`,
    );
  }
  if (noise !== undefined && noise.length !== sample.length) {
    throw new SchedulerError(
      "invalid_argument",
      `${who}: noise has ${noise.length} values but sample has ${sample.length}`,
    );
  }
}

/** Throws unless `stepIndex` is an integer index into `timesteps`. */
export function checkStepIndex(who: string, stepIndex: number, steps: number): void {
  if (!Number.isInteger(stepIndex) || stepIndex < 0 || stepIndex >= steps) {
    throw new SchedulerError(
      "invalid_argument",
      `${who}: stepIndex ${stepIndex} is outside the plan's 0..${steps - 1}`,
    );
  }
}

/** `scaleModelInput`'s checks: the plan is `kind`'s and the step lies in it; the plan, typed. */
export function checkModelInput<P extends SchedulerPlan>(
  who: string,
  kind: SchedulerKind,
  plan: SchedulerPlan,
  stepIndex: number,
): P {
  const p = checkKind<P>(plan, kind, "plan");
  checkStepIndex(who, stepIndex, p.timesteps.length);
  return p;
}

/** A step's arguments after {@linkcode checkStep}: plan and state typed as the scheduler's. */
export interface CheckedStep<P extends SchedulerPlan, S extends StepState> {
  plan: P;
  state: S;
  stepIndex: number;
  modelOutput: Float32Array;
  sample: Float32Array;
  noise: Float32Array | undefined;
}

/**
 * `step`'s checks, in this order: the plan's kind, the state's kind, the step index, the
 * lengths of `modelOutput` and `noise` (when given).
 *
 * @returns The arguments, plan and state typed.
 * @throws {SchedulerError} "invalid_argument", naming `who`.
 */
export function checkStep<P extends SchedulerPlan, S extends StepState = StepState>(
  who: string,
  kind: SchedulerKind,
  ...[plan, state, stepIndex, modelOutput, sample, noise]: StepArgs
): CheckedStep<P, S> {
  const p = checkKind<P>(plan, kind, "plan");
  const s = checkKind<S>(state, kind, "state");
  checkStepIndex(who, stepIndex, p.timesteps.length);
  checkLengths(who, sample, modelOutput, noise);
  return { plan: p, state: s, stepIndex, modelOutput, sample, noise };
}
