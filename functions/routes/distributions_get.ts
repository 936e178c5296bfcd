/**
 * GET /v1/distributions/{id}: a distribution's manifest (its files verified on the way).
 *
 * @module
 */
import { type OpenAPIHono } from "@hono/zod-openapi";
import type { AppDeps, AppEnv } from "../env.ts";
import { json, route, withErrors } from "../errors.ts";
import { DistributionIdParams, ManifestSchema, manifestView } from "../lib/schemas.ts";

/** Mounts the route on `app`. */
export function distributionsGet(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const def = route("get", "/v1/distributions/{id}", "A distribution's manifest", {
    request: { params: DistributionIdParams },
    responses: withErrors({ 200: json("The manifest", ManifestSchema) }),
  });
  app.openapi(def, async (c) => {
    const { manifest } = await deps.engine.get(c.req.valid("param").id);
    return c.json(manifestView(manifest), 200);
  });
}
