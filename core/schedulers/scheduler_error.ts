/**
 * The one error type of the schedulers.
 *
 * @module
 */
import { CodedError } from "../errors.ts";

/**
 * Why a scheduler refused:
 * - `invalid_config`: a scheduler_config.json that does not parse or is inconsistent;
 * - `invalid_options`: options of a run (steps, eta, spacing) that the schedule cannot take;
 * - `invalid_argument`: a call that breaks the contract (sizes, step index, missing noise,
 *   a plan or state of another scheduler): a caller's bug.
 */
export type SchedulerErrorCode = "invalid_config" | "invalid_options" | "invalid_argument";

/**
 * Thrown by the schedulers and the training-time noising functions (ddpm.ts).
 *
 * @example
 * ```ts
 * import { SchedulerError } from "./scheduler_error.ts";
 * const e = new SchedulerError("invalid_options", "steps must be >= 1");
 * console.assert(e.code === "invalid_options" && e.name === "SchedulerError");
 * ```
 */
export class SchedulerError extends CodedError<SchedulerErrorCode> {}
