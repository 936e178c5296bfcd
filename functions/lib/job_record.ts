/**
 * Job records in the store: `jobs/<id>.json`, one per asynchronous training job, so any
 * instance can answer for any job. A record holds what the API serves ({@linkcode JobSchema})
 * plus two internal fields that are never served:
 *
 * - `lease`: the instance running (or holding in its queue) the job, and until when. That
 *   instance renews it every third of a lease (a heartbeat); a `queued` or `running` record
 *   whose lease has expired belongs to an instance that died (kill -9, out of memory, a lost
 *   node) and is reported `failed` with code `worker_lost` ({@linkcode expireLease}).
 * - `idempotency`: the store key of the Idempotency-Key record that created the job, released
 *   (deleted) when the job is lost, so a retry with the same key trains again.
 *
 * A cancellation asked of an instance that does not run the job is a marker,
 * `jobs/<id>/cancel.json`, that the running instance's heartbeat picks up.
 *
 * Job ids sort by creation time: `job_`, 10 base32 characters of the creation time in ms,
 * 10 random ones. Listings (`jobs/` keys in order) are therefore oldest first.
 *
 * @example
 * ```ts
 * import { JOB_ID, newJobId } from "./job_record.ts";
 * console.assert(JOB_ID.test(newJobId()));
 * console.assert(newJobId(1000) < newJobId(2000));
 * ```
 *
 * @module
 */
import { z } from "@hono/zod-openapi";
import type { Store } from "../../core/engine/mod.ts";
import { ApiError } from "../errors.ts";

/** Job ids: `job_` and 20 lowercase base32 characters. */
export const JOB_ID = /^job_[a-z2-7]{20}$/;

const ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";
/** The same characters in code-unit order, so that encoded times sort as numbers. */
const SORTED = "234567abcdefghijklmnopqrstuvwxyz";

/** The states of a job; the last three are final. */
export const JOB_STATUSES = ["queued", "running", "succeeded", "failed", "canceled"] as const;

/** A job record as served. */
export const JobSchema = z.object({
  id: z.string().regex(JOB_ID),
  status: z.enum(JOB_STATUSES),
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

/** A job record as stored: the served fields plus the lease and the idempotency record. */
export const StoredJobSchema = JobSchema.extend({
  lease: z.object({ owner: z.string(), expiresAt: z.string() }).optional(),
  idempotency: z.string().optional(),
});

/** A job record (as stored; {@linkcode publicJob} gives what is served). */
export type JobRecord = z.infer<typeof StoredJobSchema>;

/** The job status. */
export type JobStatus = (typeof JOB_STATUSES)[number];

/** Whether a status is final. */
export function isFinal(status: JobStatus): boolean {
  return status === "succeeded" || status === "failed" || status === "canceled";
}

/**
 * A new job id, sortable by creation time.
 *
 * @param now The creation time in ms (default: now).
 */
export function newJobId(now: number = Date.now()): string {
  let time = "";
  for (let t = Math.floor(now), i = 0; i < 10; i++, t = Math.floor(t / 32)) {
    time = SORTED[t % 32] + time;
  }
  const random = Array.from(crypto.getRandomValues(new Uint8Array(10)), (b) => ALPHABET[b & 31]);
  return "job_" + time + random.join("");
}

/** The store key of a job. */
export function jobKey(id: string): string {
  return `jobs/${id}.json`;
}

/** The store key of a job's cancellation request. */
export function cancelKey(id: string): string {
  return `jobs/${id}/cancel.json`;
}

/** The record without its internal fields. */
export function publicJob(record: JobRecord): z.infer<typeof JobSchema> {
  const { lease: _lease, idempotency: _idem, ...rest } = record;
  return rest;
}

/**
 * Reads a job record.
 *
 * @returns The record, or null when there is none.
 * @throws {ApiError} 500 `corrupt` when it does not parse.
 */
export async function readJob(store: Store, id: string): Promise<JobRecord | null> {
  const bytes = await store.get(jobKey(id));
  if (bytes === null) return null;
  let parsed;
  try {
    parsed = StoredJobSchema.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
  } catch {
    parsed = null;
  }
  if (!parsed?.success) throw new ApiError(500, "corrupt", `job ${id}: record does not parse`);
  return parsed.data;
}

/** Writes a job record (atomic). */
export async function writeJob(store: Store, record: JobRecord): Promise<void> {
  const bytes = new TextEncoder().encode(JSON.stringify(record, null, 2) + "\n");
  await store.put(jobKey(record.id), bytes, { contentType: "application/json" });
}

/** Whether a record's lease has run out while the job was not finished. */
export function leaseExpired(record: JobRecord, now: number = Date.now()): boolean {
  return !isFinal(record.status) && record.lease !== undefined &&
    Date.parse(record.lease.expiresAt) <= now;
}

/**
 * Reports a job whose instance died: when its lease has expired, the record becomes `failed`
 * (`worker_lost`), its idempotency record is deleted, and the new record is stored.
 *
 * @param store The store.
 * @param record The record as read.
 * @returns The record as it stands now.
 */
export async function expireLease(store: Store, record: JobRecord): Promise<JobRecord> {
  if (!leaseExpired(record)) return record;
  const { lease: _lease, ...rest } = record;
  const lost: JobRecord = {
    ...rest,
    status: "failed",
    error: {
      code: "worker_lost",
      message: "the instance running the job stopped (its lease expired); submit it again",
    },
    updatedAt: new Date().toISOString(),
  };
  if (record.idempotency) await store.delete(record.idempotency);
  await writeJob(store, lost);
  await store.delete(cancelKey(record.id));
  return lost;
}

/** A page of job records. */
export interface JobPage {
  items: JobRecord[];
  /** The last id of the page when more follow, else null. */
  next: string | null;
}

const RECORD_KEY = /^jobs\/(job_[a-z2-7]{20})\.json$/;

/**
 * Job records in id (creation) order, expired leases reported as lost. A record that does not
 * parse is skipped (and logged by the caller's `onCorrupt`).
 *
 * @param store The store.
 * @param opts `limit` (1 to 100) and `after` (an id).
 * @returns The page.
 */
export async function listJobs(
  store: Store,
  opts: { limit: number; after?: string; onCorrupt?: (id: string) => void },
): Promise<JobPage> {
  const items: JobRecord[] = [];
  let after = opts.after ? jobKey(opts.after) : undefined;
  // `jobs/` also holds each job's folder (input, checkpoint, cancel marker): read in batches
  // until the page is full or the listing ends.
  for (;;) {
    const keys = await store.list("jobs/", { limit: 200, ...(after ? { after } : {}) });
    for (const key of keys) {
      const id = RECORD_KEY.exec(key)?.[1];
      if (id === undefined) continue;
      if (items.length === opts.limit) return { items, next: items.at(-1)!.id };
      try {
        const record = await readJob(store, id);
        if (record) items.push(await expireLease(store, record));
      } catch (e) {
        if (!(e instanceof ApiError && e.code === "corrupt")) throw e;
        opts.onCorrupt?.(id);
      }
    }
    if (keys.length < 200) return { items, next: null };
    after = keys.at(-1);
  }
}
