/**
 * A job record as the API shows it, in snake_case (`manifest_id`, `created_at`,
 * `progress.eta_seconds`, ...): the one place a stored {@linkcode JobRecord} becomes an answer
 * or a webhook payload. Every route and webhook that serves a job passes it through
 * {@linkcode jobView}.
 *
 * (The schema is built on first use: jobs.ts imports this file, and this file reads jobs.ts's
 * schema, so nothing here may touch it while the modules load.)
 *
 * @example
 * ```ts ignore
 * return c.json(jobView(record), 200); // {id, status, manifest_id, created_at, ...}
 * ```
 *
 * @module
 */
import { z } from "@hono/zod-openapi";
import { type JobRecord, JobSchema } from "./job_record.ts";

let schema: ReturnType<typeof build> | undefined;

function build() {
  return z.object({
    id: z.string().openapi({ example: "job_abcdefghijklmnopqrst" }),
    status: JobSchema.shape.status,
    manifest_id: z.string().optional().openapi({ description: "the distribution, once done" }),
    error: JobSchema.shape.error,
    progress: z.object({
      step: z.number(),
      steps: z.number(),
      loss: z.number(),
      eta_seconds: z.number(),
    }).optional(),
    webhook: JobSchema.shape.webhook.openapi({ description: "the completed webhook's delivery" }),
    created_at: z.string().openapi({ format: "date-time" }),
    updated_at: z.string().openapi({ format: "date-time" }),
  }).openapi("Job");
}

/** The OpenAPI schema of {@linkcode jobView}'s result. */
export function jobViewSchema(): ReturnType<typeof build> {
  return (schema ??= build());
}

/** A job as the API shows it. */
export type JobView = z.infer<ReturnType<typeof build>>;

/**
 * A stored job record under the API's names.
 *
 * @param j The record.
 */
export function jobView(j: JobRecord): JobView {
  return {
    id: j.id,
    status: j.status,
    ...(j.manifestId !== undefined ? { manifest_id: j.manifestId } : {}),
    ...(j.error !== undefined ? { error: j.error } : {}),
    ...(j.progress !== undefined
      ? {
        progress: {
          step: j.progress.step,
          steps: j.progress.steps,
          loss: j.progress.loss,
          eta_seconds: j.progress.etaSeconds,
        },
      }
      : {}),
    ...(j.webhook !== undefined ? { webhook: j.webhook } : {}),
    created_at: j.createdAt,
    updated_at: j.updatedAt,
  };
}
