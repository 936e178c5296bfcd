/**
 * Request ids: a valid incoming `X-Request-Id` is kept, otherwise a random one is made; it is
 * put in the context (`requestId`) and echoed on the response.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { requestId } from "./index.ts";
 * const app = new Hono().use(requestId()).get("/", (c) => c.text(c.get("requestId")));
 * const res = await app.request("/", { headers: { "X-Request-Id": "abc-1" } });
 * console.assert((await res.text()) === "abc-1");
 * ```
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";

/** Options of {@linkcode requestId}. */
export interface RequestIdOptions {
  /** Header read and written (default `X-Request-Id`). */
  header?: string;
  /** Makes a fresh id (default: `req_` and 16 random hex digits). */
  generate?: () => string;
}

/** The context variable set by {@linkcode requestId}. */
export type RequestIdEnv = { Variables: { requestId: string } };

const VALID = /^[A-Za-z0-9._:-]{1,128}$/;

function randomId(): string {
  const b = crypto.getRandomValues(new Uint8Array(8));
  return "req_" + Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/**
 * Assigns each request an id.
 *
 * @param options Header name and generator.
 * @returns The middleware.
 */
export function requestId(options: RequestIdOptions = {}): MiddlewareHandler<RequestIdEnv> {
  const header = options.header ?? "X-Request-Id";
  const generate = options.generate ?? randomId;
  return async function requestIdMiddleware(c, next) {
    const incoming = c.req.header(header);
    const id = incoming !== undefined && VALID.test(incoming) ? incoming : generate();
    c.set("requestId", id);
    c.header(header, id);
    await next();
    c.res.headers.set(header, id);
  };
}
