/**
 * GET /v1/jobs/{id}/previews and GET /v1/jobs/{id}/previews/{step}: the preview grids an
 * asynchronous training drew (`preview_every`), kept with the job in the store
 * (`jobs/<id>/previews/<step>.png`), so any instance answers.
 *
 * @module
 */
import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppDeps, AppEnv } from "../env.ts";
import { ApiError, errorResponses, json, route, withErrors } from "../errors.ts";
import { JOB_ID, previewKey, previewUrl, readJob } from "../lib/jobs.ts";

const JobId = z.string().regex(JOB_ID, "expected job_ and 20 of a-z 2-7")
  .openapi({ param: { name: "id", in: "path" }, example: "job_abcdefghijklmnopqrst" });

const Previews = z.object({
  items: z.array(z.object({
    step: z.number().int().openapi({ description: "steps done when it was drawn" }),
    url: z.string().openapi({ example: "/v1/jobs/job_abcdefghijklmnopqrst/previews/100" }),
  })),
}).openapi("JobPreviews");

/** Mounts both routes on `app`. */
export function jobPreviews(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const list = route(
    "get",
    "/v1/jobs/{id}/previews",
    "A training job's preview grids, oldest first",
    {
      request: { params: z.object({ id: JobId }) },
      responses: withErrors({ 200: json("The previews", Previews) }),
    },
  );
  app.openapi(list, async (c) => {
    const { id } = c.req.valid("param");
    if ((await readJob(deps.store, id)) === null) {
      throw new ApiError(404, "not_found", `job ${id} not found`);
    }
    const keys = await deps.store.list(`jobs/${id}/previews/`);
    const items = keys.map((k) => /\/(\d+)\.png$/.exec(k)).filter((m) => m !== null)
      .map((m) => Number(m[1])).sort((a, b) => a - b)
      .map((step) => ({ step, url: previewUrl(id, step) }));
    return c.json({ items }, 200);
  });

  const one = route("get", "/v1/jobs/{id}/previews/{step}", "One preview grid (PNG)", {
    request: {
      params: z.object({
        id: JobId,
        step: z.coerce.number().int().min(1).max(999_999)
          .openapi({ param: { name: "step", in: "path" }, example: 100 }),
      }),
    },
    responses: {
      200: {
        description: "The grid",
        content: { "image/png": { schema: z.string().openapi({ format: "binary" }) } },
      },
      ...errorResponses,
    },
  });
  app.openapi(one, async (c) => {
    const { id, step } = c.req.valid("param");
    const png = await deps.store.get(previewKey(id, step));
    if (png === null) throw new ApiError(404, "not_found", `job ${id} has no preview at ${step}`);
    return c.body(png as Uint8Array<ArrayBuffer>, 200, { "Content-Type": "image/png" });
  });
}
