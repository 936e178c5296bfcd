/**
 * GET /v1/distributions: distribution summaries (no loss curves: GET /v1/distributions/{id} has
 * them) in id order, paged (`limit`, `after` = the previous page's `next`). A manifest that
 * cannot be read or parsed does not fail the page: it is left out of `items` and reported in
 * `corrupt` with the reason.
 *
 * @module
 */
import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppDeps, AppEnv } from "../env.ts";
import { json, route, withErrors } from "../errors.ts";
import { DistributionId, DistributionSummarySchema, manifestSummary } from "../lib/schemas.ts";

const Query = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20)
    .openapi({ description: "page size", example: 20 }),
  after: DistributionId.optional()
    .openapi({ description: "the previous page's `next`", example: "dd_abcdefghijklmnopqrst" }),
});

const Corrupt = z.object({
  id: z.string(),
  message: z.string().openapi({ description: "why the manifest was left out" }),
}).openapi("CorruptEntry");

const Page = z.object({
  items: z.array(DistributionSummarySchema),
  corrupt: z.array(Corrupt).openapi({
    description: "distributions on this page whose manifest is unreadable or invalid",
  }),
  next: z.string().nullable().openapi({ description: "pass as `after` for the next page" }),
}).openapi("DistributionPage");

/** Mounts the route on `app`. */
export function distributionsList(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const def = route(
    "get",
    "/v1/distributions",
    "List distributions (summaries, without loss curves)",
    {
      request: { query: Query },
      responses: withErrors({ 200: json("A page", Page) }),
    },
  );
  app.openapi(def, async (c) => {
    const { limit, after } = c.req.valid("query");
    const page = await deps.engine.page({ limit, ...(after ? { after } : {}) });
    return c.json({ ...page, items: page.items.map(manifestSummary) }, 200);
  });
}
