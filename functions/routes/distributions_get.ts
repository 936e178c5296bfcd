/**
 * GET /v1/distributions/{id}: a distribution's manifest (its files verified on the way).
 *
 * @module
 */
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppDeps, AppEnv } from "../env.ts";
import { json, withErrors } from "../errors.ts";
import { DistributionIdParams, ManifestSchema, manifestView } from "../lib/schemas.ts";

/** Mounts the route on `app`. */
export function distributionsGet(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const route = createRoute({
    method: "get",
    path: "/v1/distributions/{id}",
    summary: "A distribution's manifest",
    request: { params: DistributionIdParams },
    responses: withErrors({ 200: json("The manifest", ManifestSchema) }),
  });
  app.openapi(route, async (c) => {
    const { manifest } = await deps.engine.get(c.req.valid("param").id);
    return c.json(manifestView(manifest), 200);
  });
}
