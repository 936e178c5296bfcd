/**
 * Per-request deadline and cancellation: puts a {@linkcode Deadline} in the context whose
 * signal aborts when the time is up (reason: 504 `timeout`), the client disconnects, or the
 * server shuts down (503 `shutting_down`). Handlers pass the signal to core. A handler that
 * answers before its work ends (a stream) calls `deadline.hold()` and the returned `done`
 * when the work ends; otherwise the deadline is cleared once the handler returns.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { timeout } from "./index.ts";
 * const app = new Hono().use(timeout({ ms: 1000 }));
 * app.get("/", (c) => c.text(String(c.get("deadline").signal.aborted)));
 * console.assert((await (await app.request("/")).text()) === "false");
 * ```
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ApiError } from "../../errors.ts";

/** A request's deadline. */
export interface Deadline {
  /** Aborted on timeout, client disconnect or shutdown; `reason` says which. */
  readonly signal: AbortSignal;
  /** Keeps the deadline running after the handler returns; call the result when done. */
  hold(): () => void;
}

/** Options of {@linkcode timeout}. */
export interface TimeoutOptions {
  /** Milliseconds a request may take. */
  ms: number;
  /** Aborted when the server shuts down. */
  shutdown?: AbortSignal;
}

/** The context variable set by {@linkcode timeout}. */
export type TimeoutEnv = { Variables: { deadline: Deadline } };

/**
 * Gives each request a deadline; a handler still running at the deadline is answered 504.
 *
 * @param options The time limit and the shutdown signal.
 * @returns The middleware.
 */
export function timeout(options: TimeoutOptions): MiddlewareHandler<TimeoutEnv> {
  return async function timeoutMiddleware(c, next) {
    const ctl = new AbortController();
    const expired = new ApiError(504, "timeout", `request took longer than ${options.ms} ms`);
    const timer = setTimeout(() => ctl.abort(expired), options.ms);
    const onShutdown = () =>
      ctl.abort(new ApiError(503, "shutting_down", "the server is shutting down", 5));
    const onClose = () =>
      ctl.abort(new ApiError(499 as ContentfulStatusCode, "client_closed", "client disconnected"));
    const client = c.req.raw.signal;
    options.shutdown?.addEventListener("abort", onShutdown, { once: true });
    client.addEventListener("abort", onClose, { once: true });
    if (options.shutdown?.aborted) onShutdown();
    const signal = ctl.signal;
    let held = false;
    const clear = () => {
      clearTimeout(timer);
      options.shutdown?.removeEventListener("abort", onShutdown);
      client.removeEventListener("abort", onClose);
    };
    c.set("deadline", {
      signal,
      hold: () => {
        held = true;
        return clear;
      },
    });
    let onAbort = () => {};
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      if (signal.aborted) onAbort();
    });
    aborted.catch(() => {});
    try {
      await Promise.race([next(), aborted]);
    } finally {
      signal.removeEventListener("abort", onAbort);
      if (!held) clear();
    }
  };
}
