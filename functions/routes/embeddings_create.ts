/**
 * POST /v1/embeddings: sampled text features c~ [n, L, d] (and the unconditional features)
 * of one distribution or a mix, as a safetensors file.
 *
 * @module
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppDeps, AppEnv } from "../env.ts";
import { binary, errorResponses, route } from "../errors.ts";
import { embeddingsBodySchema, toSampleRequest } from "../lib/sample_input.ts";

/** Mounts the route on `app`. */
export function embeddingsCreate(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const def = route(
    "post",
    "/v1/embeddings",
    "Sampled prompt features as safetensors (c_tilde [n,L,d], uncond [1,L,d])",
    {
      request: {
        body: {
          required: true,
          content: { "application/json": { schema: embeddingsBodySchema(deps.config.limits) } },
        },
      },
      responses: {
        200: binary("A safetensors file"),
        ...errorResponses,
      },
    },
  );
  app.openapi(def, async (c) => {
    const req = toSampleRequest(c.req.valid("json"));
    const { signal } = c.get("deadline");
    const bytes = await c.get("ticket").run(() => deps.engine.embeddings(req, { signal }), signal);
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
      "Content-Type": "application/octet-stream",
      "Content-Disposition": 'attachment; filename="embeddings.safetensors"',
      "X-Seed": String(req.seed),
    });
  });
}
