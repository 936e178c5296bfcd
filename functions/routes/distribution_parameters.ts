/**
 * GET /v1/distributions/{id}/parameters: the learned distribution's mu [L, d], sigma [L, d]
 * and, when stored, its K prompt features [K, L, d], as safetensors (`__metadata__`: id,
 * model, revision, K). What the playground's in-browser sampler draws c~ from.
 *
 * @module
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppDeps, AppEnv } from "../env.ts";
import { binary, route, withErrors } from "../errors.ts";
import { DistributionIdParams } from "../lib/schemas.ts";

/** Mounts the route on `app`. */
export function distributionParameters(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const def = route(
    "get",
    "/v1/distributions/{id}/parameters",
    "A distribution's mu, sigma and prompt features (safetensors)",
    {
      description: "float32 tensors `mu` [L, d], `sigma` [L, d] and, for distributions that " +
        "store them, `features` [K, L, d] (the K learned prompts' text features); " +
        "`__metadata__` holds id, model, revision and K. Sampling without a template draws " +
        "c~ from exactly these (POST /v1/samples does the same on the server).",
      request: { params: DistributionIdParams },
      responses: withErrors({
        200: binary("A safetensors file"),
      }),
    },
  );
  app.openapi(def, async (c) => {
    const bytes = await deps.engine.parameters(c.req.valid("param").id);
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
      "Content-Type": "application/octet-stream",
      "Content-Disposition": `attachment; filename="${
        c.req.valid("param").id
      }-parameters.safetensors"`,
    });
  });
}
