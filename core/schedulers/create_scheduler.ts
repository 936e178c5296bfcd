/**
 * Builds a scheduler of a given kind from the shared config.
 * @module
 */
import type { SchedulerConfig } from "./config.ts";
import { DDIMScheduler } from "./ddim.ts";
import { DPMSolverPPScheduler } from "./dpm_solver_pp.ts";
import { EulerAncestralScheduler } from "./euler_ancestral.ts";
import { type Scheduler, SchedulerKind, type SchedulerOptions } from "./scheduler.ts";
import { SchedulerError } from "./scheduler_error.ts";

/**
 * A scheduler of `kind` for `config`; any kind works with any config, as in diffusers'
 * `from_config`.
 *
 * @param options `eta` is DDIM's; other kinds refuse it.
 * @throws {Error} For an unknown kind, an option the kind does not take, or a config the kind
 * cannot run.
 * @example
 * ```ts
 * import { createScheduler, parseSchedulerConfig, SchedulerKind } from "./mod.ts";
 * const config = parseSchedulerConfig({ beta_schedule: "scaled_linear", steps_offset: 1 });
 * const scheduler = createScheduler(SchedulerKind.DPMSolverPP2M, config);
 * console.assert(scheduler.setTimesteps(25).timesteps.length === 25);
 * ```
 */
export function createScheduler(
  kind: SchedulerKind,
  config: SchedulerConfig,
  options: SchedulerOptions = {},
): Scheduler {
  if (kind !== SchedulerKind.DDIM && options.eta !== undefined) {
    throw new SchedulerError(
      "invalid_options",
      `eta is a DDIM option; the ${kind} scheduler does not take it`,
    );
  }
  switch (kind) {
    case SchedulerKind.DDIM:
      return new DDIMScheduler(config, options);
    case SchedulerKind.EulerAncestral:
      return new EulerAncestralScheduler(config);
    case SchedulerKind.DPMSolverPP2M:
      return new DPMSolverPPScheduler(config);
    default:
      throw new SchedulerError(
        "invalid_options",
        `unknown scheduler kind ${JSON.stringify(kind)}; expected one of ` +
          Object.values(SchedulerKind).join(", "),
      );
  }
}
