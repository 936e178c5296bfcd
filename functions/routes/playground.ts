/**
 * GET /playground: a hand-written page (functions/playground/: HTML, CSS, one script; no build
 * step, no CDN) that talks only to the public HTTP API, with the API key typed by the user and
 * kept in the page's memory. Open like /docs: the page itself needs no key, its API calls carry
 * the one typed. Not in the OpenAPI document (it is not part of the API).
 *
 * @example
 * ```ts ignore
 * playground(app);
 * const html = await (await app.request("/playground")).text();
 * ```
 *
 * @module
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../env.ts";

/** The page's files: URL path → file in functions/playground/ and its content type. */
const FILES: Record<string, { file: string; type: string }> = {
  "/playground": { file: "index.html", type: "text/html; charset=utf-8" },
  "/playground/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/playground/app.css": { file: "app.css", type: "text/css; charset=utf-8" },
};

/** The paths served (open without an API key, like /docs). */
export const PLAYGROUND_PATHS: readonly string[] = Object.keys(FILES);

/** The files, read once (a failed read is tried again next time). */
const cache = new Map<string, Promise<Uint8Array>>();
function read(file: string): Promise<Uint8Array> {
  let p = cache.get(file);
  if (!p) {
    p = Deno.readFile(new URL(`../playground/${file}`, import.meta.url));
    p.catch(() => cache.delete(file));
    cache.set(file, p);
  }
  return p;
}

/** Mounts GET /playground and its assets on `app`. */
export function playground(app: OpenAPIHono<AppEnv>): void {
  for (const [path, { file, type }] of Object.entries(FILES)) {
    app.get(path, async (c) =>
      c.body((await read(file)) as Uint8Array<ArrayBuffer>, 200, {
        "Content-Type": type,
        "Cache-Control": "no-cache",
        // The page loads nothing from elsewhere and is never framed.
        "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; " +
          "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        "X-Content-Type-Options": "nosniff",
      }));
  }
}
