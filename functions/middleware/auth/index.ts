/**
 * API keys: `Authorization: Bearer <key>` compared in constant time against each configured
 * key (SHA-256 digests, so lengths leak nothing either). With no keys configured the
 * middleware lets everything through; `open` paths are never checked.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { auth } from "./index.ts";
 * const app = new Hono().use(auth({ keys: ["k1"], open: ["/healthz"] }));
 * app.get("/healthz", (c) => c.text("ok"));
 * app.onError((e, c) => c.text(e.message, 401));
 * console.assert((await app.request("/healthz")).status === 200);
 * ```
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { ApiError } from "../../errors.ts";

/** Options of {@linkcode auth}. */
export interface AuthOptions {
  /** Accepted keys; empty = authentication off. */
  keys: readonly string[];
  /** Exact paths open without a key (e.g. `/healthz`). */
  open?: readonly string[];
}

async function digest(s: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s)));
}

/**
 * Compares two byte arrays in time that depends only on their lengths.
 *
 * @returns Whether they are equal.
 */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/**
 * Requires a configured API key as a Bearer token.
 *
 * @param options The keys and the open paths.
 * @returns The middleware; it throws an {@linkcode ApiError} 401 `unauthorized`.
 */
export function auth(options: AuthOptions): MiddlewareHandler {
  const open = new Set(options.open ?? []);
  const keys = Promise.all(options.keys.map(digest));
  const enabled = options.keys.length > 0;
  return async function authMiddleware(c, next) {
    if (!enabled || open.has(c.req.path)) return await next();
    const header = c.req.header("Authorization") ?? "";
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    if (!m) throw new ApiError(401, "unauthorized", "missing API key (Authorization: Bearer)");
    const presented = await digest(m[1]!);
    let ok = false;
    for (const k of await keys) ok = timingSafeEqual(presented, k) || ok; // no early exit
    if (!ok) throw new ApiError(401, "unauthorized", "invalid API key");
    await next();
  };
}
