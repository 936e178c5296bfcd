/**
 * Private: inference timesteps of DDIM and Euler schedulers (diffusers v0.24 `set_timesteps`),
 * and the checks every `setTimesteps` makes.
 * @module
 */
import { type SchedulerConfig, TimestepSpacing } from "./config.ts";
import { npLinspace, roundHalfEven } from "./_numerics.ts";
import { SchedulerError } from "./scheduler_error.ts";

/** Throws unless `n` is an integer in 1..num_train_timesteps. */
export function checkNumSteps(who: string, n: number, config: SchedulerConfig): void {
  const T = config.num_train_timesteps;
  if (!Number.isInteger(n) || n < 1 || n > T) {
    throw new SchedulerError(
      "invalid_options",
      `${who}: numInferenceSteps must be an integer in 1..${T} (num_train_timesteps), got ${n}`,
    );
  }
}

/** Throws unless every timestep lies in 0..T-1 and they strictly decrease. */
export function checkTimesteps(who: string, timesteps: number[], config: SchedulerConfig): void {
  const T = config.num_train_timesteps;
  timesteps.forEach((t, i) => {
    if (!(t >= 0 && t <= T - 1)) {
      throw new SchedulerError(
        "invalid_options",
        `${who}: timestep ${t} is outside 0..${T - 1} (${config.timestep_spacing} spacing, ` +
          `steps_offset ${config.steps_offset}, ${timesteps.length} steps); use fewer steps`,
      );
    }
    if (i > 0 && t >= timesteps[i - 1]!) {
      throw new SchedulerError(
        "invalid_options",
        `${who}: ${timesteps.length} steps with ${config.timestep_spacing} spacing give ` +
          `repeated timesteps (${timesteps[i - 1]}, ${t}); use fewer steps`,
      );
    }
  });
}

/**
 * Descending timesteps as float64, before the caller's rounding (DDIM rounds half to even,
 * Euler keeps float32):
 * leading `(arange(n) * (T // n)) + steps_offset`, trailing `round(arange(T, 0, -T/n)) - 1`,
 * linspace `linspace(0, T - 1, n)`.
 */
export function spacedTimesteps(config: SchedulerConfig, n: number): number[] {
  const T = config.num_train_timesteps;
  switch (config.timestep_spacing) {
    case TimestepSpacing.Leading: {
      const ratio = Math.floor(T / n);
      return Array.from({ length: n }, (_, i) => (n - 1 - i) * ratio + config.steps_offset);
    }
    case TimestepSpacing.Trailing: {
      const ratio = T / n;
      return Array.from({ length: n }, (_, i) => roundHalfEven(T - i * ratio) - 1);
    }
    case TimestepSpacing.Linspace:
      return npLinspace(0, T - 1, n).reverse();
  }
}
