/**
 * Asynchronous training jobs. A job is a record in the store at `jobs/<id>.json`, so any
 * instance can answer `GET /v1/jobs/{id}`; the instance that accepted it runs it through the
 * work queue, updates the record (queued → running → succeeded | failed, with throttled
 * progress), then POSTs the signed webhook if one was given. On shutdown, jobs still running
 * after the grace period are cancelled and recorded as failed (`shutting_down`), never lost.
 *
 * @module
 */
import { z } from "@hono/zod-openapi";
import type { Manifest } from "../../core/artifacts/distribution_artifact.ts";
import type { TrainProgress } from "../../core/distribution/train.ts";
import type { Store } from "../../core/store/store.ts";
import { ApiError, errorResponse } from "../errors.ts";
import type { Log } from "../env.ts";
import type { Ticket } from "../middleware/queue/index.ts";
import { jobView } from "./job_view.ts";
import { manifestView } from "./schemas.ts";
import { DEFAULT_WEBHOOK_EVENTS, deliverWebhook, type WebhookEvent } from "./webhook.ts";
import type { NetOptions } from "./url_guard.ts";

/** Job ids: `job_` and 20 lowercase base32 characters. */
export const JOB_ID = /^job_[a-z2-7]{20}$/;

/** A job record as stored and served. */
export const JobSchema = z.object({
  id: z.string().regex(JOB_ID),
  status: z.enum(["queued", "running", "succeeded", "failed"]),
  manifestId: z.string().optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  progress: z.object({
    step: z.number(),
    steps: z.number(),
    loss: z.number(),
    etaSeconds: z.number(),
  }).optional(),
  webhook: z.object({
    status: z.enum(["pending", "delivered", "failed"]),
    attempts: z.number().int(),
  }).optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
}).openapi("Job");

/** A job record. */
export type JobRecord = z.infer<typeof JobSchema>;

/** The store key of a job. */
export function jobKey(id: string): string {
  return `jobs/${id}.json`;
}

/**
 * Reads a job record.
 *
 * @returns The record, or null when there is none.
 */
export async function readJob(store: Store, id: string): Promise<JobRecord | null> {
  const bytes = await store.get(jobKey(id));
  if (bytes === null) return null;
  const parsed = JobSchema.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
  if (!parsed.success) throw new ApiError(500, "corrupt", `job ${id}: record does not parse`);
  return parsed.data;
}

/** The store key of a job's preview after `step` steps. */
export function previewKey(id: string, step: number): string {
  return `jobs/${id}/previews/${String(step).padStart(6, "0")}.png`;
}

/** A job's preview as the API links it. */
export function previewUrl(id: string, step: number): string {
  return `/v1/jobs/${id}/previews/${step}`;
}

/** What a job's work may report besides progress. */
export interface JobContext {
  id: string;
  /** Keeps a preview PNG with the job and announces it (`job.progress` webhook). */
  onPreview: (p: { step: number; steps: number; png: Uint8Array }) => Promise<void>;
}

/** What {@linkcode JobRunner.submit} runs. */
export type JobWork = (
  signal: AbortSignal,
  onProgress: (p: TrainProgress) => void,
  job: JobContext,
) => Promise<Manifest>;

/** Settings of a {@linkcode JobRunner}. */
export interface JobRunnerOptions {
  store: Store;
  log: Log;
  net: NetOptions;
  webhookSecret: string;
  timeoutMs: number;
  /** Webhook retry waits (default [1000, 4000]). */
  webhookBackoffMs?: readonly number[];
  /** Least time between two `job.progress` webhooks, in ms (default 10 000). */
  webhookProgressMs?: number;
}

/** Runs jobs in the background and keeps their records. */
export class JobRunner {
  #running = new Map<string, { ctl: AbortController; done: Promise<void> }>();
  #closed = false;

  constructor(private readonly opts: JobRunnerOptions) {}

  /** Whether shutdown has begun (no new jobs). */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Records a queued job and starts it in the background.
   *
   * @param ticket The request's queue place (the job runs when it gets a slot).
   * @param work The training, given a signal and a progress callback.
   * @param webhook A URL to notify.
   * @param events What to notify (default the end only): `start` (`job.running`, once),
   * `progress` (`job.progress`, throttled, one try each, skipped while one is in flight),
   * `completed` (`job.succeeded` | `job.failed`, retried).
   * @returns The queued record (already stored).
   */
  async submit(
    ticket: Ticket,
    work: JobWork,
    webhook?: string,
    events: readonly WebhookEvent[] = DEFAULT_WEBHOOK_EVENTS,
  ): Promise<JobRecord> {
    if (this.#closed) throw new ApiError(503, "shutting_down", "the server is shutting down", 5);
    const now = new Date().toISOString();
    let record: JobRecord = {
      id: newJobId(),
      status: "queued",
      createdAt: now,
      updatedAt: now,
      ...(webhook && events.includes("completed")
        ? { webhook: { status: "pending" as const, attempts: 0 } }
        : {}),
    };
    await this.#write(record);
    const first = record;
    const ctl = new AbortController();
    const timer = setTimeout(
      () =>
        ctl.abort(new ApiError(504, "timeout", `job took longer than ${this.opts.timeoutMs} ms`)),
      this.opts.timeoutMs,
    );
    let chain = Promise.resolve();
    const update = (patch: Partial<JobRecord>) => {
      record = { ...record, ...patch, updatedAt: new Date().toISOString() };
      const snapshot = record;
      chain = chain.then(() => this.#write(snapshot)).catch((e) =>
        this.opts.log("error", "job record write failed", { job: snapshot.id, error: String(e) })
      );
      return chain;
    };
    // start and progress webhooks: one try each, in order, never holding up the training.
    let hooks = Promise.resolve(), hookBusy = false, lastHook = -Infinity;
    const notify = (type: string, extra: Record<string, unknown> = {}) => {
      if (!webhook) return;
      const payload = { type, timestamp: new Date().toISOString(), job: jobView(record), ...extra };
      hookBusy = true;
      hooks = hooks.then(() =>
        deliverWebhook(webhook, payload, {
          secret: this.opts.webhookSecret,
          net: this.opts.net,
          backoffMs: [],
        })
      ).then(() => void (hookBusy = false), () => void (hookBusy = false));
    };
    let lastProgress = 0;
    const onProgress = (p: TrainProgress) => {
      const now = performance.now();
      if (
        events.includes("progress") && !hookBusy &&
        now - lastHook >= (this.opts.webhookProgressMs ?? 10_000)
      ) {
        lastHook = now;
        record = { ...record, progress: progressOf(p) };
        notify("job.progress");
      }
      if (now - lastProgress < 1000 && p.step < p.steps) return;
      lastProgress = now;
      void update({ progress: progressOf(p) });
    };
    let manifest: Manifest | undefined;
    const done = ticket.run(async () => {
      ctl.signal.throwIfAborted();
      await update({ status: "running" });
      if (events.includes("start")) notify("job.running");
      manifest = await work(ctl.signal, onProgress, {
        id: first.id,
        // Previews are not throttled like progress: preview_every already spaces them.
        onPreview: async ({ step, steps, png }) => {
          await this.opts.store.put(previewKey(first.id, step), png, { contentType: "image/png" });
          if (!events.includes("progress")) return;
          notify("job.progress", { preview: { step, steps, url: previewUrl(first.id, step) } });
        },
      });
    }, ctl.signal).then(
      () => update({ status: "succeeded", manifestId: manifest!.id }),
      (e) => update({ status: "failed", error: errorResponse(e, ctl.signal).body.error }),
    ).then(async () => {
      clearTimeout(timer);
      await hooks;
      if (webhook && events.includes("completed")) {
        const payload = {
          type: `job.${record.status}`,
          timestamp: new Date().toISOString(),
          job: jobView(record),
          ...(manifest ? { manifest: manifestView(manifest) } : {}),
        };
        const r = await deliverWebhook(webhook, payload, {
          secret: this.opts.webhookSecret,
          net: this.opts.net,
          backoffMs: this.#closed ? [] : (this.opts.webhookBackoffMs ?? [1000, 4000]),
        });
        this.opts.log(r.delivered ? "info" : "warn", "webhook", {
          job: record.id,
          delivered: r.delivered,
          attempts: r.attempts,
          status: r.status,
        });
        await update({
          webhook: { status: r.delivered ? "delivered" : "failed", attempts: r.attempts },
        });
      }
    }).finally(() => this.#running.delete(first.id));
    this.#running.set(first.id, { ctl, done });
    return first;
  }

  /** Resolves when no job is in flight (tests). */
  async idle(): Promise<void> {
    while (this.#running.size > 0) {
      await Promise.all([...this.#running.values()].map((j) => j.done));
    }
  }

  /**
   * Stops taking jobs, lets running ones finish for `graceMs`, then cancels the rest; each
   * cancelled job is recorded as failed.
   */
  async shutdown(graceMs: number): Promise<void> {
    this.#closed = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<void>((r) => (timer = setTimeout(r, graceMs)));
    await Promise.race([this.idle(), grace]);
    clearTimeout(timer);
    const reason = new ApiError(503, "shutting_down", "the server shut down before the job ended");
    for (const j of this.#running.values()) j.ctl.abort(reason);
    await this.idle();
  }

  async #write(record: JobRecord): Promise<void> {
    const bytes = new TextEncoder().encode(JSON.stringify(record, null, 2) + "\n");
    await this.opts.store.put(jobKey(record.id), bytes, { contentType: "application/json" });
  }
}

function progressOf(p: TrainProgress): NonNullable<JobRecord["progress"]> {
  return { step: p.step, steps: p.steps, loss: p.loss, etaSeconds: p.etaSeconds };
}

function newJobId(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  return "job_" + Array.from(bytes, (b) => alphabet[b & 31]).join("");
}
