/**
 * Multipart framing check: a `multipart/form-data` body is accepted only when it carries a
 * boundary, opens with a delimiter, and ends with the close delimiter (`CRLF--boundary--`,
 * RFC 2046 section 5.1.1) followed by nothing but whitespace. The platform's form parser
 * silently drops a part that lacks its closing boundary (an `options` part cut short would
 * train with the default options), so such a body is a 400 `malformed_multipart` before the
 * form is parsed. Other content types pass through untouched.
 *
 * The body is read through Hono's body cache (`c.req.arrayBuffer()`), so the form parser reuses
 * the same bytes; register it after admission (the queue) and the body limit.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { multipartComplete } from "./index.ts";
 * const app = new Hono().use(multipartComplete());
 * app.post("/", (c) => c.text("ok"));
 * app.onError((_e, c) => c.text("bad", 400));
 * const cut = '--b\r\nContent-Disposition: form-data; name="options"\r\n\r\n{"steps":1}';
 * const headers = { "content-type": "multipart/form-data; boundary=b" };
 * console.assert((await app.request("/", { method: "POST", body: cut, headers })).status === 400);
 * ```
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { ApiError } from "../../errors.ts";

/**
 * Refuses an unterminated or unframed multipart body.
 *
 * @returns The middleware; it throws an {@linkcode ApiError} 400 `malformed_multipart`.
 */
export function multipartComplete(): MiddlewareHandler {
  return async function multipartCompleteMiddleware(c, next) {
    const type = c.req.header("content-type") ?? "";
    if (!/^multipart\/form-data/i.test(type)) return await next();
    const boundary = boundaryOf(type);
    if (boundary === null) throw malformed("the content type has no valid boundary");
    const problem = framingProblem(new Uint8Array(await c.req.arrayBuffer()), boundary);
    if (problem !== null) throw malformed(problem);
    await next();
  };
}

function malformed(why: string): ApiError {
  return new ApiError(400, "malformed_multipart", `multipart body: ${why}`);
}

/** The boundary parameter (RFC 2046: 1 to 70 characters), quoted or not. */
export function boundaryOf(contentType: string): string | null {
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;",]{1,70}))\s*(?:;|$)/i.exec(contentType);
  return m ? (m[1] ?? m[2] ?? null) : null;
}

/**
 * Why a body is not a complete multipart body, or null when it is: it must open with the
 * delimiter (after an optional preamble), hold the close delimiter, and have only whitespace
 * after it.
 */
export function framingProblem(body: Uint8Array, boundary: string): string | null {
  const enc = new TextEncoder();
  const open = enc.encode(`--${boundary}`);
  const first = startsWith(body, open, 0) ? 0 : indexOf(body, enc.encode(`\r\n--${boundary}`), 0);
  if (first < 0) return "no opening boundary";
  const bare = enc.encode(`--${boundary}--`);
  const close = enc.encode(`\r\n--${boundary}--`);
  const at = indexOf(body, close, first);
  const end = startsWith(body, bare, 0) ? bare.length : at < 0 ? -1 : at + close.length;
  if (end < 0) return "a part lacks its closing boundary (no close delimiter)";
  for (let i = end; i < body.length; i++) {
    const b = body[i]!;
    if (b !== 0x0d && b !== 0x0a && b !== 0x20 && b !== 0x09) {
      return "data after the close delimiter";
    }
  }
  return null;
}

function startsWith(hay: Uint8Array, needle: Uint8Array, at: number): boolean {
  if (at + needle.length > hay.length) return false;
  for (let j = 0; j < needle.length; j++) if (hay[at + j] !== needle[j]) return false;
  return true;
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0]!;
  for (let i = hay.indexOf(first, from); i >= 0; i = hay.indexOf(first, i + 1)) {
    if (startsWith(hay, needle, i)) return i;
  }
  return -1;
}
