/**
 * What a dispatched training job keeps in the store, so that any instance can run it and a
 * retried run resumes: the input (`jobs/<id>/input.json`: model, options, webhook, reference
 * images as base64) written before the job is dispatched, and the latest training checkpoint
 * (`jobs/<id>/checkpoint.json`: step, loss curve, soft prompts, AdamW moments; arrays as base64
 * of their little-endian bytes, so a resumed run continues bit for bit) written every
 * `checkpointEvery` steps while it runs.
 *
 * @example
 * ```ts
 * import { checkpointKey, inputKey } from "./job_store.ts";
 * console.assert(inputKey("job_a") === "jobs/job_a/input.json");
 * console.assert(checkpointKey("job_a") === "jobs/job_a/checkpoint.json");
 * ```
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { z } from "@hono/zod-openapi";
import {
  checkpointBody,
  type ImageInput,
  parseCheckpointBody,
  type Store,
  type TrainCheckpoint,
} from "../../core/engine/mod.ts";
import { ApiError } from "../errors.ts";

/** The training a job runs. */
export interface JobInput {
  model?: string;
  options: Record<string, unknown>;
  webhook?: string;
  images: ImageInput[];
}

const InputFile = z.object({
  format: z.literal("dreamdistribution-job-input/1"),
  model: z.string().optional(),
  options: z.record(z.string(), z.unknown()),
  webhook: z.string().optional(),
  images: z.array(z.object({ name: z.string().optional(), base64: z.string() })),
});

const CHECKPOINT_FORMAT = "dreamdistribution-job-checkpoint/1";

/** The store key of a job's input. */
export const inputKey = (id: string): string => `jobs/${id}/input.json`;
/** The store key of a job's latest checkpoint. */
export const checkpointKey = (id: string): string => `jobs/${id}/checkpoint.json`;

const json = (x: unknown) => new TextEncoder().encode(JSON.stringify(x));
const b64 = (a: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");
const bytesOf = (s: string) => new Uint8Array(Buffer.from(s, "base64"));

/**
 * Stores a job's input (before it is dispatched).
 *
 * @param store The store.
 * @param id The job id.
 * @param input What the job trains.
 */
export async function saveJobInput(store: Store, id: string, input: JobInput): Promise<void> {
  const file: z.infer<typeof InputFile> = {
    format: "dreamdistribution-job-input/1",
    ...(input.model !== undefined ? { model: input.model } : {}),
    options: input.options,
    ...(input.webhook !== undefined ? { webhook: input.webhook } : {}),
    images: input.images.map((i) => ({
      ...(i.name !== undefined ? { name: i.name } : {}),
      base64: b64(i.bytes),
    })),
  };
  await store.put(inputKey(id), json(file), { contentType: "application/json" });
}

/**
 * Reads a job's input.
 *
 * @returns The input, or null when the store has none.
 * @throws {ApiError} 500 `corrupt` when it does not parse.
 */
export async function loadJobInput(store: Store, id: string): Promise<JobInput | null> {
  const bytes = await store.get(inputKey(id));
  if (bytes === null) return null;
  const r = InputFile.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
  if (!r.success) throw new ApiError(500, "corrupt", `job ${id}: input does not parse`);
  const f = r.data;
  return {
    ...(f.model !== undefined ? { model: f.model } : {}),
    options: f.options,
    ...(f.webhook !== undefined ? { webhook: f.webhook } : {}),
    images: f.images.map((i) => ({
      bytes: bytesOf(i.base64),
      ...(i.name !== undefined ? { name: i.name } : {}),
    })),
  };
}

/** Stores a job's latest checkpoint (one PUT: readers see the previous one or this one). */
export async function saveCheckpoint(store: Store, id: string, c: TrainCheckpoint) {
  const file = { format: CHECKPOINT_FORMAT, ...checkpointBody(c) };
  await store.put(checkpointKey(id), json(file), { contentType: "application/json" });
}

/**
 * Reads a job's latest checkpoint.
 *
 * @returns The checkpoint, or null when none was written (or it does not parse: the job then
 * starts over rather than failing).
 */
export async function loadCheckpoint(store: Store, id: string): Promise<TrainCheckpoint | null> {
  const bytes = await store.get(checkpointKey(id));
  if (bytes === null) return null;
  const f = JSON.parse(new TextDecoder().decode(bytes));
  return f?.format === CHECKPOINT_FORMAT ? parseCheckpointBody(f) : null;
}
