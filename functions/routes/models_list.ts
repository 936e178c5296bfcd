/**
 * GET /v1/models: the models this server offers.
 *
 * @module
 */
import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppDeps, AppEnv } from "../env.ts";
import { json, route, withErrors } from "../errors.ts";

const Models = z.object({
  models: z.array(z.object({ name: z.string(), default: z.boolean() })),
}).openapi("Models");

/** Mounts the route on `app`. */
export function modelsList(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const def = route("get", "/v1/models", "Models offered", {
    responses: withErrors({ 200: json("The models", Models) }),
  });
  app.openapi(def, async (c) => c.json({ models: await deps.models() }, 200));
}
