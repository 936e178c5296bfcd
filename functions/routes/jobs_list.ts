/**
 * GET /v1/jobs: training jobs in creation order (oldest first), paged (`limit`, `after` =
 * the previous page's `next`). Jobs whose instance died are reported `failed`
 * (`worker_lost`); a record that does not parse is skipped and logged.
 *
 * @module
 */
import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppDeps, AppEnv } from "../env.ts";
import { json, route, withErrors } from "../errors.ts";
import { JOB_ID } from "../lib/job_record.ts";
import { jobView, jobViewSchema } from "../lib/job_view.ts";

const Query = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20)
    .openapi({ description: "jobs per page (1 to 100)", example: 20 }),
  after: z.string().regex(JOB_ID, "expected job_ and 20 of a-z 2-7").optional()
    .openapi({ description: "the previous page's `next`" }),
});

const Page = z.object({
  items: z.array(jobViewSchema()),
  next: z.string().nullable().openapi({ description: "pass as `after` for the next page" }),
}).openapi("JobPage");

/** Mounts the route on `app`. */
export function jobsList(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const def = route("get", "/v1/jobs", "List training jobs", {
    request: { query: Query },
    responses: withErrors({ 200: json("A page", Page) }),
  });
  app.openapi(def, async (c) => {
    const { limit, after } = c.req.valid("query");
    const page = await deps.jobs.list({ limit, ...(after ? { after } : {}) });
    return c.json({ items: page.items.map(jobView), next: page.next }, 200);
  });
}
