/**
 * The engine's client errors (its own module so that requests.ts and engine.ts share it
 * without an import cycle).
 *
 * @module
 */

/**
 * Errors the callers map to client errors (4xx).
 * @example
 * ```ts
 * const e = new EngineError("invalid_request", "no distribution to sample from");
 * console.assert(e.status === 400);
 * ```
 */
export class EngineError extends Error {
  constructor(readonly code: string, message: string, readonly status = 400) {
    super(message);
    this.name = "EngineError";
  }
}
