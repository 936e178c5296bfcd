/**
 * The error thrown for bad caller input to training and sampling (options, templates, mix
 * weights, gamma, incompatible distributions). Callers (the engine, the HTTP functions) map
 * it to a client error by its type, without matching message text; anything else thrown
 * here is an internal error.
 *
 * @module
 */
import { CodedError } from "../errors.ts";

/**
 * What the input was: `options` for training options and inputs, `request` for a sample or
 * embeddings request (mix, gamma, template at sample time, the distributions chosen).
 */
export type DistributionInputKind = "options" | "request";

/** The code of each kind: `invalid_options` for `options`, `invalid_request` for `request`. */
export type DistributionInputCode = "invalid_options" | "invalid_request";

/**
 * Thrown for input the caller can fix; internal failures stay plain `Error`s.
 *
 * @example
 * ```ts
 * import { DistributionInputError } from "./errors.ts";
 * const e = new DistributionInputError("request", "mix: weights must be >= 0");
 * console.assert(e.kind === "request" && e.code === "invalid_request");
 * ```
 */
export class DistributionInputError extends CodedError<DistributionInputCode> {
  /**
   * @param kind Training options or a sample request.
   * @param message A human-readable explanation naming the bad input.
   * @param options Standard error options (`cause`).
   */
  constructor(readonly kind: DistributionInputKind, message: string, options?: ErrorOptions) {
    super(kind === "options" ? "invalid_options" : "invalid_request", message, options);
  }
}
