/**
 * Body size limit: refuses a declared `Content-Length` over the limit without reading, and
 * otherwise counts the bytes as they stream in, refusing (413) the moment the count passes
 * the limit — always before the handler runs. The body read is handed on as a buffer.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { bodyLimit } from "./index.ts";
 * const app = new Hono().use(bodyLimit({ maxBytes: 4 }));
 * app.post("/", async (c) => c.text(await c.req.text()));
 * app.onError((e, c) => c.text(e.message, 413));
 * console.assert((await app.request("/", { method: "POST", body: "12345" })).status === 413);
 * ```
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { ApiError } from "../../errors.ts";

/** Options of {@linkcode bodyLimit}. */
export interface BodyLimitOptions {
  /** Largest body accepted, in bytes. */
  maxBytes: number;
}

/**
 * Limits the request body.
 *
 * @param options The limit.
 * @returns The middleware; it throws an {@linkcode ApiError} 413 `body_too_large`.
 */
export function bodyLimit(options: BodyLimitOptions): MiddlewareHandler {
  const { maxBytes } = options;
  const tooLarge = () =>
    new ApiError(413, "body_too_large", `request body is over the limit of ${maxBytes} bytes`);
  return async function bodyLimitMiddleware(c, next) {
    const body = c.req.raw.body;
    if (body === null) return await next();
    const declared = c.req.header("Content-Length");
    if (declared !== undefined && !(Number(declared) <= maxBytes)) {
      await body.cancel().catch(() => {});
      throw tooLarge();
    }
    const reader = body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        throw tooLarge();
      }
      chunks.push(value);
    }
    const buffer = new Uint8Array(size);
    let off = 0;
    for (const chunk of chunks) {
      buffer.set(chunk, off);
      off += chunk.length;
    }
    c.req.raw = new Request(c.req.raw, { body: buffer });
    await next();
  };
}
