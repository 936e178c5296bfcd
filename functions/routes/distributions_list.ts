/**
 * GET /v1/distributions: distribution summaries (no loss curves: GET /v1/distributions/{id} has
 * them) in id order, paged (`limit`, `after` = the previous page's `next`). A manifest that
 * cannot be read or parsed does not fail the page: it is left out of `items` and reported in
 * `corrupt` with the reason.
 *
 * @module
 */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { type Manifest, manifestSchema } from "../../core/artifacts/distribution_artifact.ts";
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
    const corrupt: { id: string; message: string }[] = [];
    for (const id of page) {
      const raw = await deps.store.get(`distributions/${id}/manifest.json`);
      if (raw === null) continue; // deleted since it was listed
      const problem = readManifest(raw);
      if (typeof problem === "string") corrupt.push({ id, message: problem });
      else items.push(manifestSummary(problem));
    }
    const next = ids.length > limit ? page[page.length - 1]! : null;
    return c.json({ items, corrupt, next }, 200);
  });
}

/** The parsed manifest, or why it cannot be read. */
function readManifest(raw: Uint8Array): Manifest | string {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(raw));
  } catch {
    return "manifest.json is not valid JSON";
  }
  const parsed = manifestSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  return `invalid manifest.json: ${issue?.path.join(".") || "(root)"}: ${issue?.message}`;
}
