/**
 * The denoising options `sample` and `txt2img` share (--steps, --guidance, --guidance-rescale,
 * --scheduler), their help lines, and how they are read. The step count's bounds are the
 * engine's ({@linkcode SAMPLE_STEPS}); the count itself is checked once, when the engine
 * plans the timesteps.
 *
 * @module
 */
import { SAMPLE_STEPS } from "../engine/mod.ts";
import { SchedulerKind } from "../schedulers/mod.ts";
import { choice, num, type OptionTable, str, type Values } from "./_cli.ts";

const SCHEDULERS = Object.values(SchedulerKind);

/** The options' table entries, in help order. */
export const SAMPLING_OPTIONS: OptionTable = {
  steps: {
    type: "string",
    arg: "N",
    default: String(SAMPLE_STEPS.default),
    help: "denoising steps",
  },
  guidance: {
    type: "string",
    arg: "X",
    help: "classifier-free guidance scale (default: the model's; 7.5 for Stable Diffusion)",
  },
  "guidance-rescale": {
    type: "string",
    arg: "X",
    help: "diffusers' guidance_rescale in [0, 1] (default: the model's; 0 for Stable Diffusion)",
  },
  scheduler: {
    type: "string",
    arg: "NAME",
    help: `denoising scheduler: ${SCHEDULERS.join(", ")} (default: the model's; DDIM for SD)`,
  },
};

/** The options as read: absent ones are the model's defaults. */
export interface SamplingArgs {
  steps: number;
  guidance?: number;
  guidanceRescale?: number;
  scheduler?: SchedulerKind;
}

/**
 * Reads the options.
 * @throws UsageError for a value out of its range or an unknown scheduler.
 */
export function samplingArgs(values: Values): SamplingArgs {
  return {
    steps: num(values, "steps", SAMPLE_STEPS.default, {
      integer: true,
      min: SAMPLE_STEPS.min,
      max: SAMPLE_STEPS.max,
    }),
    ...(str(values, "guidance") !== undefined
      ? { guidance: num(values, "guidance", 0, { min: 0 }) }
      : {}),
    ...(str(values, "guidance-rescale") !== undefined
      ? { guidanceRescale: num(values, "guidance-rescale", 0, { min: 0, max: 1 }) }
      : {}),
    ...(str(values, "scheduler") !== undefined
      ? { scheduler: choice(values, "scheduler", SCHEDULERS, SchedulerKind.DDIM) }
      : {}),
  };
}
