/**
 * GET /v1/distributions: manifests in id order, paged (`limit`, `after` = the previous
 * page's `next`).
 *
 * @module
 */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { type Manifest, manifestSchema } from "../../core/artifacts/distribution_artifact.ts";
import type { AppDeps, AppEnv } from "../env.ts";
import { errorResponses } from "../errors.ts";
import { DistributionId, ManifestSchema } from "../lib/schemas.ts";

const Query = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  after: DistributionId.optional(),
});

const Page = z.object({
  items: z.array(ManifestSchema),
  next: z.string().nullable().openapi({ description: "pass as `after` for the next page" }),
}).openapi("DistributionPage");

/** Mounts the route on `app`. */
export function distributionsList(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const route = createRoute({
    method: "get",
    path: "/v1/distributions",
    summary: "List distributions",
    request: { query: Query },
    responses: {
      200: { description: "A page", content: { "application/json": { schema: Page } } },
      ...errorResponses,
    },
  });
  app.openapi(route, async (c) => {
    const { limit, after } = c.req.valid("query");
    const ids = await deps.engine.list({ limit: limit + 1, ...(after ? { after } : {}) });
    const page = ids.slice(0, limit);
    const items: Manifest[] = [];
    for (const id of page) {
      const raw = await deps.store.get(`distributions/${id}/manifest.json`);
      const parsed = raw && manifestSchema.safeParse(JSON.parse(new TextDecoder().decode(raw)));
      if (parsed && parsed.success) items.push(parsed.data);
    }
    return c.json({ items, next: ids.length > limit ? page[page.length - 1]! : null }, 200);
  });
}
