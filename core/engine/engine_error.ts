/**
 * The engine's client errors (its own module so that requests.ts and engine.ts share it
 * without an import cycle).
 *
 * @module
 */
import { CodedError } from "../errors.ts";

/**
 * Errors the callers map to client errors (functions/errors.ts gives each code its status,
 * 400 unless listed there).
 * @example
 * ```ts
 * const e = new EngineError("invalid_request", "no distribution to sample from");
 * console.assert(e.code === "invalid_request");
 * ```
 */
export class EngineError extends CodedError<string> {}
