/**
 * GET /v1/jobs/{id}: an asynchronous training job's record (from the store, so any
 * instance answers). A job whose instance died (its lease expired) is reported `failed` with
 * code `worker_lost`.
 *
 * @module
 */
import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppDeps, AppEnv } from "../env.ts";
import { ApiError, json, route, withErrors } from "../errors.ts";
import { jobView, jobViewSchema } from "../lib/job_view.ts";
import { JOB_ID } from "../lib/job_record.ts";

/** The `{id}` path parameter of the job routes. */
export const JobParams = z.object({
  id: z.string().regex(JOB_ID, "expected job_ and 20 of a-z 2-7")
    .openapi({ param: { name: "id", in: "path" }, example: "job_aaaaaaaaaaaaaaaaaaaa" }),
});

/** Mounts the route on `app`. */
export function jobsGet(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const get = route("get", "/v1/jobs/{id}", "A training job", {
    request: { params: JobParams },
    responses: withErrors({ 200: json("The job", jobViewSchema()) }),
  });
  app.openapi(get, async (c) => {
    const { id } = c.req.valid("param");
    const job = await deps.jobs.get(id);
    if (job === null) throw new ApiError(404, "not_found", `job ${id} not found`);
    return c.json(jobView(job), 200);
  });
}
