/**
 * Accepting an async training job when jobs are dispatched through the platform's queue: the
 * input goes to the store, a `queued` record is written, then the job is dispatched
 * (functions/lib/job_dispatch.ts); nothing runs in this instance. When dispatching fails the
 * record says so and the request fails with 503, so the client may retry.
 *
 * @module
 */
import type { ImageInput, Store } from "../../core/engine/mod.ts";
import { ApiError } from "../errors.ts";
import type { JobDispatcher } from "./job_dispatch.ts";
import { saveJobInput } from "./job_store.ts";
import { type JobRecord, newJobId, writeJob } from "./job_record.ts";

/** What the training request asked for. */
export interface DispatchedInput {
  model?: string;
  options: Record<string, unknown>;
  images: ImageInput[];
}

/**
 * Stores the job and dispatches it.
 *
 * @param store The store.
 * @param dispatcher The platform queue.
 * @param input The training.
 * @param webhook A URL to notify when the job ends.
 * @returns The queued record (stored).
 * @throws {ApiError} 503 `dispatch_failed` when the queue refuses (the record is then failed).
 */
export async function submitDispatched(
  store: Store,
  dispatcher: JobDispatcher,
  input: DispatchedInput,
  webhook?: string,
): Promise<JobRecord> {
  const id = newJobId();
  const now = new Date().toISOString();
  const record: JobRecord = {
    id,
    status: "queued",
    createdAt: now,
    updatedAt: now,
    ...(webhook ? { webhook: { status: "pending" as const, attempts: 0 } } : {}),
  };
  const put = (r: JobRecord) => writeJob(store, r);
  await saveJobInput(store, id, { ...input, ...(webhook ? { webhook } : {}) });
  await put(record);
  try {
    await dispatcher.dispatch(id);
  } catch (e) {
    const error = e instanceof ApiError
      ? { code: e.code, message: e.message }
      : { code: "dispatch_failed", message: String(e) };
    await put({ ...record, status: "failed", error, updatedAt: new Date().toISOString() });
    throw e instanceof ApiError ? e : new ApiError(503, "dispatch_failed", error.message, 5);
  }
  return record;
}
