/**
 * Asynchronous training jobs run in this instance. A job is a record in the store
 * (functions/lib/job_record.ts), so any instance can answer for it; the instance that accepted
 * it runs it through the work queue and updates the record: queued → running → succeeded |
 * failed | canceled, with throttled progress, then POSTs the signed webhook if one was given.
 *
 * - **Lease.** While a job is queued or running here its record carries a lease
 *   (`leaseMs`, renewed every `leaseMs / 3`). If this process dies (kill -9), the lease runs
 *   out and whoever reads the job next reports it `failed` with `worker_lost` and releases its
 *   Idempotency-Key record (so a retry with the same key trains again). Jobs are not
 *   re-queued: their input lives only in the dead process.
 * - **Cancel.** {@linkcode JobRunner.cancel} aborts the job's signal with a
 *   {@linkcode JobCanceled} reason; training stops before its next step
 *   (`signal.throwIfAborted()`), nothing is saved, and the job ends `canceled`. A job running
 *   on another instance is asked through a marker that its heartbeat reads.
 * - **Shutdown.** Jobs still running after the grace period are aborted and recorded as
 *   `failed` (`shutting_down`), never lost.
 *
 * @module
 */
import type { Manifest, Store, TrainProgress } from "../../core/engine/mod.ts";
import { ApiError, errorResponse } from "../errors.ts";
import type { Log } from "../env.ts";
import type { Ticket } from "../middleware/queue/index.ts";
import {
  cancelKey,
  expireLease,
  isFinal,
  type JobPage,
  type JobRecord,
  listJobs,
  newJobId,
  readJob,
  writeJob,
} from "./job_record.ts";
import { jobView } from "./job_view.ts";
import { manifestView } from "./schemas.ts";
import { DEFAULT_WEBHOOK_EVENTS, deliverWebhook, type WebhookEvent } from "./webhook.ts";
import type { NetOptions } from "./url_guard.ts";

export {
  JOB_ID,
  jobKey,
  type JobRecord,
  JobSchema,
  newJobId,
  publicJob,
  readJob,
} from "./job_record.ts";

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

/** The abort reason of a job canceled by a client. */
export class JobCanceled extends Error {
  constructor() {
    super("the job was canceled");
    this.name = "JobCanceled";
  }
}

/** Settings of a {@linkcode JobRunner}. */
export interface JobRunnerOptions {
  store: Store;
  log: Log;
  net: NetOptions;
  webhookSecret: string;
  timeoutMs: number;
  /** Lease of a job on this instance, in ms (default 60 000); renewed every third of it. */
  leaseMs?: number;
  /** Webhook retry waits (default [1000, 4000]). */
  webhookBackoffMs?: readonly number[];
  /** Least time between two `job.progress` webhooks, in ms (default 10 000). */
  webhookProgressMs?: number;
}

/** What {@linkcode JobRunner.cancel} found. */
export interface CancelResult {
  record: JobRecord;
  /** True when the job ended as canceled; false while the cancellation is pending. */
  final: boolean;
}

interface Running {
  ctl: AbortController;
  done: Promise<void>;
  /** Renews the lease (and checks for a cancellation marker). */
  heartbeat: () => Promise<void>;
}

/** How long {@linkcode JobRunner.cancel} waits for a job of this instance to stop. */
const CANCEL_WAIT_MS = 10_000;

/** Runs jobs in the background and keeps their records. */
export class JobRunner {
  /** This instance, as named in the leases it holds. */
  readonly instanceId: string = crypto.randomUUID();
  readonly leaseMs: number;
  #running = new Map<string, Running>();
  #closed = false;

  constructor(private readonly opts: JobRunnerOptions) {
    this.leaseMs = opts.leaseMs ?? 60_000;
  }

  /** Whether shutdown has begun (no new jobs). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Jobs queued or running in this instance. */
  get active(): number {
    return this.#running.size;
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
   * @param idempotency The store key of the Idempotency-Key record that created the job.
   * @returns The queued record (already stored).
   */
  async submit(
    ticket: Ticket,
    work: JobWork,
    webhook?: string,
    events: readonly WebhookEvent[] = DEFAULT_WEBHOOK_EVENTS,
    idempotency?: string,
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
      lease: this.#lease(),
      ...(idempotency ? { idempotency } : {}),
    };
    await writeJob(this.opts.store, record);
    const first = record;
    const ctl = new AbortController();
    const timer = setTimeout(
      () =>
        ctl.abort(new ApiError(504, "timeout", `job took longer than ${this.opts.timeoutMs} ms`)),
      this.opts.timeoutMs,
    );
    // Writes in order: a late progress update or heartbeat never overwrites the final status.
    let chain = Promise.resolve();
    const update = (patch: Partial<JobRecord>) => {
      record = { ...record, ...patch, updatedAt: new Date().toISOString() };
      const snapshot = record;
      chain = chain.then(() => writeJob(this.opts.store, snapshot)).catch((e) =>
        this.opts.log("error", "job record write failed", { job: snapshot.id, error: String(e) })
      );
      return chain;
    };
    const heartbeat = async () => {
      if (isFinal(record.status) || ctl.signal.aborted) return;
      if (await this.opts.store.exists(cancelKey(first.id)).catch(() => false)) {
        ctl.abort(new JobCanceled());
        return;
      }
      await update({ lease: this.#lease() });
    };
    const beat = setInterval(() => void heartbeat(), Math.max(10, Math.floor(this.leaseMs / 3)));
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
      await update({ status: "running", lease: this.#lease() });
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
      () => update({ status: "succeeded", manifestId: manifest!.id, lease: undefined }),
      (e) =>
        ctl.signal.reason instanceof JobCanceled
          ? update({ status: "canceled", lease: undefined })
          : update({
            status: "failed",
            error: errorResponse(e, ctl.signal).body.error,
            lease: undefined,
          }),
    ).then(async () => {
      clearTimeout(timer);
      clearInterval(beat);
      await this.opts.store.delete(cancelKey(first.id)).catch(() => {});
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
    this.#running.set(first.id, { ctl, done, heartbeat });
    return first;
  }

  /**
   * A job's record as it stands: a job whose lease expired (its instance died) is reported
   * `failed` (`worker_lost`), and the record updated.
   *
   * @returns The record, or null when there is none.
   */
  async get(id: string): Promise<JobRecord | null> {
    const record = await readJob(this.opts.store, id);
    if (record === null || this.#running.has(id)) return record;
    return await expireLease(this.opts.store, record);
  }

  /** Job records in creation order (see listJobs in job_record.ts). */
  list(opts: { limit: number; after?: string }): Promise<JobPage> {
    return listJobs(this.opts.store, {
      ...opts,
      onCorrupt: (id) => this.opts.log("warn", "job record does not parse", { job: id }),
    });
  }

  /**
   * Cancels a job. A job of this instance is aborted at once and waited for (up to 10 s); a
   * job of another instance gets a cancellation marker its heartbeat reads.
   *
   * @returns What was found, or null when there is no such job. A job already finished is
   * returned as it is, with `final: true`.
   */
  async cancel(id: string): Promise<CancelResult | null> {
    const here = this.#running.get(id);
    if (here) {
      here.ctl.abort(new JobCanceled());
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([here.done, new Promise((r) => (timer = setTimeout(r, CANCEL_WAIT_MS)))]);
      clearTimeout(timer);
      const record = (await readJob(this.opts.store, id))!;
      return { record, final: isFinal(record.status) };
    }
    const record = await this.get(id);
    if (record === null || isFinal(record.status)) return record && { record, final: true };
    if (record.lease === undefined && record.status === "queued") {
      // A dispatched job not yet started: nothing runs it, so it ends here.
      const canceled: JobRecord = {
        ...record,
        status: "canceled",
        updatedAt: new Date().toISOString(),
      };
      await writeJob(this.opts.store, canceled);
      return { record: canceled, final: true };
    }
    await this.opts.store.put(cancelKey(id), new TextEncoder().encode("{}\n"));
    return { record, final: false };
  }

  /** Renews the lease of every job of this instance now (tests). */
  async heartbeat(): Promise<void> {
    await Promise.all([...this.#running.values()].map((j) => j.heartbeat()));
  }

  /** Resolves when no job is in flight (tests). */
  async idle(): Promise<void> {
    while (this.#running.size > 0) {
      await Promise.all([...this.#running.values()].map((j) => j.done));
    }
  }

  /**
   * Stops taking jobs, lets running ones finish for `graceMs`, then cancels the rest; each
   * cancelled job is recorded as failed (`shutting_down`).
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

  #lease(): { owner: string; expiresAt: string } {
    return { owner: this.instanceId, expiresAt: new Date(Date.now() + this.leaseMs).toISOString() };
  }
}

function progressOf(p: TrainProgress): NonNullable<JobRecord["progress"]> {
  return { step: p.step, steps: p.steps, loss: p.loss, etaSeconds: p.etaSeconds };
}
