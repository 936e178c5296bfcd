/**
 * What the schedulers share as code, beside their argument checks (_checks.ts): the config, a
 * memoryless initial state, and the sample itself as the model input. Each scheduler overrides
 * only what is its own (Euler ancestral scales the input; DPM-Solver++ keeps a multistep state).
 * @module
 */
import type { SchedulerConfig } from "./config.ts";
import { checkModelInput } from "./_checks.ts";
import {
  checkKind,
  type Scheduler,
  type SchedulerKind,
  type SchedulerPlan,
  type StepArgs,
  type StepResult,
  type StepState,
} from "./scheduler.ts";

/** The base of every {@linkcode Scheduler} here. */
export abstract class SchedulerBase implements Scheduler {
  abstract readonly kind: SchedulerKind;
  abstract readonly stochastic: boolean;
  readonly config: SchedulerConfig;
  /** The scheduler's name in error messages. */
  protected abstract readonly who: string;

  constructor(config: SchedulerConfig) {
    this.config = config;
  }

  abstract setTimesteps(numInferenceSteps: number): SchedulerPlan;

  abstract step(...args: StepArgs): StepResult;

  /** Memoryless: the state holds only the kind. */
  initialState(plan: SchedulerPlan): StepState {
    checkKind(plan, this.kind, "plan");
    return Object.freeze({ kind: this.kind });
  }

  /** The sample itself, as a fresh array (no input scaling). */
  scaleModelInput(
    plan: SchedulerPlan,
    sample: Float32Array,
    stepIndex: number,
  ): Float32Array<ArrayBuffer> {
    checkModelInput(this.who, this.kind, plan, stepIndex);
    return sample.slice();
  }
}
