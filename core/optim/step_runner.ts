/**
 * The one training loop of the project: for each step, check the signal, build the step's
 * feeds, run the train-step graph (loss and gradients), step AdamW on every parameter group,
 * record the loss and report progress; the caller's hooks add what is particular to a run
 * (data refreshes, EMA, previews, checkpoints). `trainDistribution` (soft prompts) and
 * `trainWorldModel` (every weight of the base model) both run on it.
 *
 * Steps are numbered globally: a run resumed at step `first` draws what an uninterrupted run
 * would have drawn, so the feeds of step s must depend only on s (and the parameters).
 *
 * @module
 */
import type { HostTensor, Session } from "../onnx/mod.ts";
import { type AdamW, NonFiniteGradientError } from "./adamw.ts";

/** Progress of one step, the same for every training loop. */
export interface TrainProgress {
  /** Steps done, counted from the start of training (it goes on across a resume). */
  step: number;
  /** The step training ends at. */
  steps: number;
  /** This step's loss. */
  loss: number;
  /** Steps per second in this run so far. */
  stepsPerSecond: number;
  /** Seconds left at that rate. */
  etaSeconds: number;
}

/** Values trained in place by one optimizer. */
export interface ParameterGroup {
  /** The values, updated in place by each step. */
  values: Float32Array;
  optimizer: AdamW;
  /** The gradient of `values`, read from the step's outputs. */
  gradient: (out: Record<string, HostTensor>) => Float32Array;
}

/** What {@linkcode runSteps} runs. */
export interface StepRun {
  /** The train-step graph; its output `loss` is the scalar minimised. */
  session: Pick<Session, "run">;
  /** Outputs fetched each step (absent: all). */
  outputs?: string[];
  groups: ParameterGroup[];
  /** Global index of the first step to run (the steps already done). */
  first: number;
  /** Global index the run ends at (exclusive). */
  end: number;
  /** The loss curve: each step's loss is appended (it may start with a resumed run's). */
  lossCurve: number[];
  /** The feeds of global step `step`. */
  feeds: (step: number) => Parameters<Session["run"]>[0];
  /** Before the feeds of a step are built (data refreshes, learning-rate schedules). */
  beforeStep?: (step: number) => Promise<void> | void;
  /** Checks a step's loss before the update; throw to stop the run. */
  checkLoss?: (step: number, loss: number) => void;
  /** The error thrown for a non-finite gradient (absent: AdamW's own). */
  nonFiniteGradient?: (step: number) => Error;
  /** After the update (moving averages), before progress is reported. */
  afterUpdate?: (step: number) => void;
  /** After progress is reported, with the global steps done (previews, checkpoints). */
  afterStep?: (done: number) => Promise<void> | void;
  onProgress?: (p: TrainProgress) => void;
  /** Checked before every step: an abort stops the run with the signal's reason. */
  signal?: AbortSignal;
}

/** What a run measured. */
export interface StepRunResult {
  /** Milliseconds spent in the train-step graph. */
  ortMs: number;
  /** Milliseconds spent in the optimizer and the hooks run before progress. */
  optimizerMs: number;
}

/**
 * Runs steps `first` to `end - 1` of a training.
 *
 * @param r The session, parameters, feeds and hooks.
 * @returns The timings of the steps run.
 * @throws The signal's reason when it aborts; whatever the hooks throw.
 * @example
 * ```ts ignore
 * const lossCurve: number[] = [];
 * await runSteps({ session, groups, first: 0, end: 100, lossCurve, feeds });
 * ```
 */
export async function runSteps(r: StepRun): Promise<StepRunResult> {
  let ortMs = 0, optimizerMs = 0;
  const loopStart = performance.now();
  for (let step = r.first; step < r.end; step++) {
    r.signal?.throwIfAborted();
    await r.beforeStep?.(step);
    const feeds = r.feeds(step);
    const r0 = performance.now();
    const out = await r.session.run(feeds, r.outputs);
    const r1 = performance.now();
    const loss = Number(out.loss!.data[0]);
    r.checkLoss?.(step, loss);
    for (const g of r.groups) {
      try {
        g.optimizer.step(g.values, g.gradient(out));
      } catch (e) {
        if (e instanceof NonFiniteGradientError && r.nonFiniteGradient) {
          throw r.nonFiniteGradient(step);
        }
        throw e;
      }
    }
    r.afterUpdate?.(step);
    optimizerMs += performance.now() - r1;
    ortMs += r1 - r0;
    r.lossCurve.push(loss);
    const done = step + 1 - r.first;
    const rate = done / ((performance.now() - loopStart) / 1000);
    r.onProgress?.({
      step: step + 1,
      steps: r.end,
      loss,
      stepsPerSecond: rate,
      etaSeconds: (r.end - step - 1) / rate,
    });
    await r.afterStep?.(step + 1);
  }
  return { ortMs, optimizerMs };
}
