/**
 * What both front ends (the HTTP functions and the deno tasks) share about a request before
 * it reaches the {@linkcode Engine}: the bounds of `steps`, the one place a step count is
 * checked (by planning the timesteps, {@linkcode planTimesteps}, whose plan is then passed
 * down to the denoising loop), and the mix rule ({@linkcode mixWeights}).
 *
 * The mix rule, one for every front end: a request's weights are positive and are normalised
 * to sum to 1 before they reach core/distribution (whose `PromptDistribution.mix` takes
 * weights summing to 1, paper eq. 7). HTTP documents exactly that ("weights normalised"); the
 * CLI documents "weights sum to 1" and keeps refusing any other sum (`exact: true`), so for
 * its documented inputs normalising would change nothing; a single distribution gets weight 1.
 *
 * @module
 */
import { createScheduler, type SchedulerConfig, type SchedulerKind } from "../schedulers/mod.ts";
import type { PlannedTimesteps } from "../pipeline/mod.ts";
import { EngineError } from "./engine_error.ts";

export type { PlannedTimesteps };

/** Denoising steps a sampling request may ask for, and the default when it names none. */
export const SAMPLE_STEPS = Object.freeze({ min: 1, max: 1000, default: 25 });

/**
 * Plans the timesteps of one request: the one check of `steps` (an integer in
 * 1..num_train_timesteps whose spacing gives distinct timesteps), before any model work.
 *
 * @param kind The scheduler.
 * @param config The model's scheduler config.
 * @param steps Denoising steps.
 * @returns The scheduler and its plan, for `txt2img`.
 * @throws {EngineError} "invalid_request" when the scheduler refuses `steps`.
 * @example
 * ```ts
 * import { parseSchedulerConfig } from "../schedulers/config.ts";
 * import { SchedulerKind } from "../schedulers/scheduler.ts";
 * const { plan } = planTimesteps(SchedulerKind.DDIM, parseSchedulerConfig({}), 10);
 * console.assert(plan.timesteps.length === 10);
 * ```
 */
export function planTimesteps(
  kind: SchedulerKind,
  config: SchedulerConfig,
  steps: number,
): PlannedTimesteps {
  const scheduler = createScheduler(kind, config);
  try {
    return { scheduler, plan: scheduler.setTimesteps(steps) };
  } catch (e) {
    throw new EngineError("invalid_request", (e as Error).message);
  }
}

/** One entry of a mix as a request gives it. */
export interface MixEntry<Ref = string> {
  id: Ref;
  weight: number;
}

/**
 * The mix rule (see the module doc): positive weights, normalised to sum to 1.
 *
 * @param mix The request's entries (a single entry's weight becomes 1).
 * @param opts `exact`: refuse weights whose sum is not 1 (within 1e-6) instead of normalising
 *   (the weights are then passed on as given).
 * @returns The entries with weights summing to 1.
 * @throws {EngineError} "invalid_request" for no entry, a weight that is not a finite number
 *   >= 0, a zero sum, or (exact) a sum other than 1; the message names the sum.
 * @example
 * ```ts
 * const mix = mixWeights([{ id: "a", weight: 3 }, { id: "b", weight: 1 }]);
 * console.assert(mix[0]!.weight === 0.75);
 * ```
 */
export function mixWeights<Ref>(
  mix: readonly MixEntry<Ref>[],
  opts: { exact?: boolean } = {},
): MixEntry<Ref>[] {
  if (mix.length === 0) throw new EngineError("invalid_request", "no distribution to sample from");
  if (mix.some((m) => !(m.weight >= 0) || !Number.isFinite(m.weight))) {
    throw new EngineError("invalid_request", "mix weights must be finite numbers >= 0");
  }
  const total = mix.reduce((a, m) => a + m.weight, 0);
  if (!(total > 0) || (opts.exact && Math.abs(total - 1) > 1e-6)) {
    throw new EngineError("invalid_request", `mix weights must sum to 1, got ${total}`);
  }
  // Exact: already summing to 1 (core/distribution's tolerance), passed on as given.
  return opts.exact ? [...mix] : mix.map((m) => ({ id: m.id, weight: m.weight / total }));
}
