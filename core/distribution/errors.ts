/**
 * The error thrown for bad caller input to training and sampling (options, templates, mix
 * weights, gamma, incompatible distributions). Callers (the engine, the HTTP functions) map
 * it to a client error by its type, without matching message text; anything else thrown
 * here is an internal error.
 *
 * @module
 */

/**
 * What the input was: `options` for training options and inputs, `request` for a sample or
 * embeddings request (mix, gamma, template at sample time, the distributions chosen).
 */
export type DistributionInputKind = "options" | "request";

/**
 * Thrown for input the caller can fix; internal failures stay plain `Error`s.
 *
 * @example
 * ```ts
 * import { DistributionInputError } from "./errors.ts";
 * const e = new DistributionInputError("request", "mix: weights must be >= 0");
 * console.assert(e.kind === "request" && e instanceof Error);
 * ```
 */
export class DistributionInputError extends Error {
  /** Which input was bad. */
  readonly kind: DistributionInputKind;

  /**
   * @param kind Training options or a sample request.
   * @param message A human-readable explanation naming the bad input.
   * @param options Standard error options (`cause`).
   */
  constructor(kind: DistributionInputKind, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DistributionInputError";
    this.kind = kind;
  }
}
