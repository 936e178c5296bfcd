/**
 * GET /openapi.json (the document generated from the routes' zod schemas: parameters, bodies,
 * responses, examples) and GET /docs: Swagger UI (swagger-ui-dist, rendered by Hono's own
 * `@hono/swagger-ui`), whose script and stylesheet are served from the installed npm package
 * under /docs/assets, so the page needs no network access beyond this server.
 *
 * @module
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import { swaggerUI } from "@hono/swagger-ui";
import { join } from "node:path";
import getAbsoluteFSPath from "swagger-ui-dist/absolute-path.js";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../errors.ts";

const INFO = {
  openapi: "3.0.3",
  info: {
    title: "DreamDistribution",
    version: "1.0.0",
    description: "Learn a prompt distribution from 5-20 reference images (DreamDistribution, " +
      "Zhao et al.), then sample new images from it, mix distributions, export sampled text " +
      "features or textual-inversion embeddings. Errors are `{error: {code, message}}`. Names " +
      "are snake_case.",
  },
};

/** Where /docs loads Swagger UI's files from (`@hono/swagger-ui` appends `/swagger-ui-dist`). */
const ASSET_BASE = "/docs/assets";
const ASSETS: Record<string, string> = {
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "swagger-ui.css": "text/css; charset=utf-8",
};
/** The asset paths (open without an API key, like /docs). */
export const DOCS_ASSET_PATHS: readonly string[] = Object.keys(ASSETS).map((f) =>
  `${ASSET_BASE}/swagger-ui-dist/${f}`
);

/** The package's files, read once. */
const cache = new Map<string, Promise<Uint8Array>>();
function asset(name: string): Promise<Uint8Array> {
  let p = cache.get(name);
  if (!p) {
    p = Deno.readFile(join(getAbsoluteFSPath(), name));
    p.catch(() => cache.delete(name));
    cache.set(name, p);
  }
  return p;
}

/** Mounts the routes on `app` (call after every other route is registered). */
export function openapi(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
  });
  app.doc("/openapi.json", { ...INFO, security: [{ bearer: [] }] });
  app.get(
    "/docs",
    swaggerUI({
      url: "/openapi.json",
      baseUrl: ASSET_BASE,
      title: "DreamDistribution API",
      docExpansion: "full",
      defaultModelsExpandDepth: 1,
      // No "Try it out" validator call to swagger.io.
      validatorUrl: "none",
    }),
  );
  app.get(`${ASSET_BASE}/swagger-ui-dist/:file`, async (c) => {
    const file = c.req.param("file");
    const type = ASSETS[file];
    if (type === undefined) throw new ApiError(404, "not_found", `no such asset ${file}`);
    return c.body((await asset(file)) as Uint8Array<ArrayBuffer>, 200, {
      "Content-Type": type,
      "Cache-Control": "public, max-age=86400",
    });
  });
}
