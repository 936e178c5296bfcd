/**
 * POST /internal/jobs/run: runs one dispatched training job inside the request, so the platform
 * counts it as load, applies its timeout and retries it (functions/lib/job_dispatch.ts). Signed
 * with DD_INTERNAL_SECRET (`X-DD-Internal-Signature`, or `ce-ddsignature` from a Knative
 * broker), not with an API key; not in the OpenAPI document.
 *
 * The job's input is read from the store; its latest checkpoint too, when an earlier attempt
 * wrote one, and training resumes from it (bit for bit). A checkpoint is written every
 * `checkpointEvery` steps (25 unless the options say otherwise). Answers: 200 when the job is
 * finished (succeeded, failed for a reason a retry cannot fix, or already finished: a
 * duplicate delivery); 503 when it should be retried (deadline, shutdown, a 5xx cause), after
 * recording it as queued with the error.
 *
 * @module
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Manifest, TrainOptions } from "../../core/engine/mod.ts";
import type { AppDeps, AppEnv } from "../env.ts";
import { ApiError, errorResponse } from "../errors.ts";
import { INTERNAL_SIGNATURE_HEADER, verifyInternal } from "../lib/job_dispatch.ts";
import { loadCheckpoint, loadJobInput, saveCheckpoint } from "../lib/job_store.ts";
import {
  cancelKey,
  isFinal,
  JOB_ID,
  type JobRecord,
  readJob,
  writeJob,
} from "../lib/job_record.ts";
import { JobCanceled } from "../lib/jobs.ts";
import { deliverWebhook } from "../lib/webhook.ts";
import { jobView } from "../lib/job_view.ts";
import { manifestView } from "../lib/schemas.ts";

/** Steps between checkpoints of a dispatched job whose options do not say. */
export const DEFAULT_CHECKPOINT_EVERY = 25;

/** Mounts the route on `app`. */
export function internalJobs(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const { store, config, log } = deps;
  const write = (r: JobRecord) => writeJob(store, r);

  app.post("/internal/jobs/run", async (c) => {
    const d = config.dispatch;
    const body = new Uint8Array(await c.req.arrayBuffer());
    const signature = c.req.header(INTERNAL_SIGNATURE_HEADER) ?? c.req.header("ce-ddsignature");
    const secret = d.kind === "inprocess" ? "" : d.secret;
    if (!(await verifyInternal(secret, body, signature ?? null))) {
      throw new ApiError(401, "unauthorized", "internal request without a valid signature");
    }
    let id: unknown;
    try {
      id = (JSON.parse(new TextDecoder().decode(body)) as { jobId?: unknown }).jobId;
    } catch {
      throw new ApiError(400, "invalid_json", 'body must be {"jobId": ...}');
    }
    if (typeof id !== "string" || !JOB_ID.test(id)) {
      throw new ApiError(400, "validation_error", "jobId: not a job id");
    }
    const ticket = c.get("ticket");
    let record = await readJob(store, id);
    // Unknown, finished (a duplicate delivery) or canceled: nothing to run, and nothing to retry.
    if (record === null || isFinal(record.status)) {
      ticket.release();
      return c.json({ job: record }, 200);
    }
    const input = await loadJobInput(store, id);
    // Writes in order: a late progress update never overwrites the final status.
    let chain = Promise.resolve();
    const update = (patch: Partial<JobRecord>) => {
      record = { ...record!, ...patch, updatedAt: new Date().toISOString() };
      const snapshot = record;
      chain = chain.then(() => write(snapshot));
      return chain;
    };
    if (input === null) {
      ticket.release();
      await update({
        status: "failed",
        error: { code: "input_missing", message: "the job's input is not in the store" },
      });
      return c.json({ job: record }, 200);
    }
    // A cancellation (POST /v1/jobs/{id}/cancel on any instance) is a marker in the store,
    // looked for with each progress update.
    const cancel = new AbortController();
    const signal = AbortSignal.any([
      AbortSignal.timeout(config.requestTimeoutMs),
      deps.shutdownSignal,
      cancel.signal,
    ]);
    const resume = await loadCheckpoint(store, id);
    const options: Partial<TrainOptions> = {
      ...input.options,
      checkpointEvery: Number(input.options.checkpointEvery) || DEFAULT_CHECKPOINT_EVERY,
    };
    log("info", "job run", { job: id, resumeFrom: resume?.step ?? 0 });
    let last = 0;
    let manifest: Manifest;
    try {
      manifest = await ticket.run(async () => {
        await update({ status: "running" });
        return await deps.engine.train(
          { images: input.images, options, ...(input.model ? { model: input.model } : {}) },
          {
            signal,
            ...(resume ? { resume } : {}),
            onCheckpoint: (ck) => saveCheckpoint(store, id as string, ck),
            onProgress: (p) => {
              if (performance.now() - last < 1000 && p.step < p.steps) return;
              last = performance.now();
              const progress = { step: p.step, steps: p.steps, loss: p.loss };
              void update({ progress: { ...progress, etaSeconds: p.etaSeconds } }).catch(() => {});
              void store.exists(cancelKey(id as string)).then((asked) => {
                if (asked) cancel.abort(new JobCanceled());
              }, () => {});
            },
          },
        );
      }, signal);
    } catch (e) {
      if (signal.reason instanceof JobCanceled) {
        await update({ status: "canceled" });
        await store.delete(cancelKey(id)).catch(() => {});
        await notify(deps, record!, input.webhook);
        return c.json({ job: record }, 200);
      }
      const { error, body } = errorResponse(e, signal);
      if (error.status >= 500 || signal.aborted) {
        await update({ status: "queued", error: body.error });
        log("warn", "job run interrupted; the platform retries it", { job: id, error: error.code });
        return c.json(body, 503, { "Retry-After": "5" });
      }
      await update({ status: "failed", error: body.error });
      await notify(deps, record!, input.webhook);
      return c.json({ job: record }, 200);
    }
    await update({ status: "succeeded", manifestId: manifest.id });
    await notify(deps, record!, input.webhook, manifest);
    return c.json({ job: record }, 200);
  });
}

/** The job's webhook, as the in-process runner sends it. */
async function notify(deps: AppDeps, job: JobRecord, url?: string, manifest?: Manifest) {
  if (!url) return;
  const r = await deliverWebhook(url, {
    type: `job.${job.status}`,
    timestamp: new Date().toISOString(),
    job: jobView(job),
    ...(manifest ? { manifest: manifestView(manifest) } : {}),
  }, { secret: deps.config.webhookSecret, net: deps.net, backoffMs: [1000, 4000] });
  deps.log(r.delivered ? "info" : "warn", "webhook", { job: job.id, delivered: r.delivered });
  const patched: JobRecord = {
    ...job,
    webhook: { status: r.delivered ? "delivered" : "failed", attempts: r.attempts },
    updatedAt: new Date().toISOString(),
  };
  await deps.store.put(
    `jobs/${job.id}.json`,
    new TextEncoder().encode(JSON.stringify(patched, null, 2) + "\n"),
    { contentType: "application/json" },
  );
}
