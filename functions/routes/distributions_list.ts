/**
 * GET /v1/distributions: distribution summaries (no loss curves: GET /v1/distributions/{id} has
 * them) in id order, paged (`limit`, `after` = the previous page's `next`).
 *
 * @module
 */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { manifestSchema } from "../../core/artifacts/distribution_artifact.ts";
import type { AppDeps, AppEnv } from "../env.ts";
import { errorResponses } from "../errors.ts";
import {
  DistributionId,
  type DistributionSummary,
  DistributionSummarySchema,
  manifestSummary,
} from "../lib/schemas.ts";

const Query = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20)
    .openapi({ description: "page size", example: 20 }),
  after: DistributionId.optional()
    .openapi({ description: "the previous page's `next`", example: "dd_abcdefghijklmnopqrst" }),
});

const Page = z.object({
  items: z.array(DistributionSummarySchema),
  next: z.string().nullable().openapi({ description: "pass as `after` for the next page" }),
}).openapi("DistributionPage");

/** Mounts the route on `app`. */
export function distributionsList(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const route = createRoute({
    method: "get",
    path: "/v1/distributions",
    summary: "List distributions (summaries, without loss curves)",
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
    const items: DistributionSummary[] = [];
    for (const id of page) {
      const raw = await deps.store.get(`distributions/${id}/manifest.json`);
      const parsed = raw && manifestSchema.safeParse(JSON.parse(new TextDecoder().decode(raw)));
      if (parsed && parsed.success) items.push(manifestSummary(parsed.data));
    }
    return c.json({ items, next: ids.length > limit ? page[page.length - 1]! : null }, 200);
  });
}
