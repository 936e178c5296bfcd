/**
 * The one shape of core's errors: a class per module, each a {@linkcode CodedError} with a
 * machine-readable `code` (stable across versions), a one-line `message` and an optional
 * `cause`. Callers branch on the class and the code, never on message text. No HTTP status
 * lives here: functions/errors.ts maps codes to statuses, core/tasks/_cli.ts to exit codes.
 *
 * Cancellation is not an error class: core checks its `AbortSignal` with
 * `signal.throwIfAborted()`, so a cancelled call rejects with the signal's reason.
 *
 * @example
 * ```ts
 * import { CodedError } from "./errors.ts";
 * class WidgetError extends CodedError<"too_big" | "too_small"> {
 *   override readonly name = "WidgetError";
 * }
 * const e = new WidgetError("too_big", "widget: 12 > 10");
 * console.assert(e instanceof CodedError && e.code === "too_big" && e.name === "WidgetError");
 * ```
 *
 * @module
 */

/** The base of core's errors: a code for machines, a message for people. */
export class CodedError<Code extends string = string> extends Error {
  /** Machine-readable reason, stable across versions. */
  readonly code: Code;

  /**
   * @param code Why it failed.
   * @param message A human-readable explanation (one line, no secrets, no input data).
   * @param options Standard error options (`cause`).
   */
  constructor(code: Code, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * Whether `e` is a cancellation: the default reason of an aborted signal (an `AbortError`
 * DOMException, as `signal.throwIfAborted()` throws after `controller.abort()`).
 *
 * @param e What was thrown.
 * @returns True for an abort.
 * @example
 * ```ts
 * import { isAbort } from "./errors.ts";
 * const ac = new AbortController();
 * ac.abort();
 * console.assert(isAbort(ac.signal.reason));
 * ```
 */
export function isAbort(e: unknown): boolean {
  return e instanceof Error && e.name === "AbortError";
}
