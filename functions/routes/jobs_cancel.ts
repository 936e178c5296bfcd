/**
 * POST /v1/jobs/{id}/cancel: cancels a queued or running training job. Training stops before
 * its next step and saves nothing; the job ends `canceled`. Answers 200 with the job once it
 * is canceled (or was already), 202 while the cancellation is pending (the job runs on
 * another instance, or its current step has not ended within 10 s), 409 `job_finished` for
 * a job that already succeeded or failed.
 *
 * @module
 */
import { type OpenAPIHono } from "@hono/zod-openapi";
import type { AppDeps, AppEnv } from "../env.ts";
import { ApiError, errorResponses, ErrorSchema, route } from "../errors.ts";
import { jobView, jobViewSchema } from "../lib/job_view.ts";
import { JobParams } from "./jobs_get.ts";

/** Mounts the route on `app`. */
export function jobsCancel(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const job = { "application/json": { schema: jobViewSchema() } };
  const def = route("post", "/v1/jobs/{id}/cancel", "Cancel a training job", {
    request: { params: JobParams },
    responses: {
      200: { description: "The job, canceled", content: job },
      202: { description: "Cancellation requested; the job stops at its next step", content: job },
      409: {
        description: "The job already succeeded or failed",
        content: { "application/json": { schema: ErrorSchema } },
      },
      ...errorResponses,
    },
  });
  app.openapi(def, async (c) => {
    const { id } = c.req.valid("param");
    const r = await deps.jobs.cancel(id);
    if (r === null) throw new ApiError(404, "not_found", `job ${id} not found`);
    const status = r.record.status;
    if (status === "succeeded" || status === "failed") {
      throw new ApiError(409, "job_finished", `job ${id} already ${status}`);
    }
    return c.json(jobView(r.record), r.final ? 200 : 202);
  });
}
