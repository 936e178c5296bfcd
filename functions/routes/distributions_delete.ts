/**
 * DELETE /v1/distributions/{id}: removes a distribution (404 when there is none).
 *
 * @module
 */
import { type OpenAPIHono } from "@hono/zod-openapi";
import type { AppDeps, AppEnv } from "../env.ts";
import { ApiError, route, withErrors } from "../errors.ts";
import { DistributionIdParams } from "../lib/schemas.ts";

/** Mounts the route on `app`. */
export function distributionsDelete(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const def = route("delete", "/v1/distributions/{id}", "Delete a distribution", {
    request: { params: DistributionIdParams },
    responses: withErrors({ 204: { description: "Deleted" } }),
  });
  app.openapi(def, async (c) => {
    const { id } = c.req.valid("param");
    if ((await deps.engine.manifest(id)) === null) {
      throw new ApiError(404, "not_found", `distribution ${id} not found`);
    }
    await deps.engine.delete(id);
    return c.body(null, 204);
  });
}
