/**
 * `Idempotency-Key` for POST /v1/distributions: the first successful result (status and
 * body) is stored under `idempotency/<sha256(key)>.json` and replayed to a retry with the same
 * key and the same request; a retry with another request is refused (422), and a duplicate
 * arriving while the first is still running gets 409 (`Retry-After`: when its lease ends). A
 * failed request leaves no record, so its retry runs again.
 *
 * A running request's record is `pending` with a lease (`expiresAt`) that the request renews
 * every third of the lease while it runs. When the instance dies mid-request (kill -9), the
 * lease runs out and the next request with the key takes the record over: a killed request
 * blocks its key for at most one lease (`DD_LEASE_MS`, default 60 s), not for the request
 * timeout. An async job's record (202) is released by the job when its instance dies
 * (functions/lib/job_record.ts).
 * Within one instance the check is atomic; across instances sharing a store it is
 * check-then-write (the store has no conditional put), so two instances racing on one key
 * within milliseconds could both run.
 *
 * @module
 */
import { z } from "@hono/zod-openapi";
import type { Store } from "../../core/engine/mod.ts";
import { ApiError } from "../errors.ts";

const KEY = /^[\x21-\x7e]{1,255}$/;

/** A stored response. */
export interface StoredResponse {
  status: number;
  body: unknown;
  location?: string;
}

const RecordSchema = z.object({
  state: z.enum(["pending", "done"]),
  fingerprint: z.string(),
  createdAt: z.string(),
  /** Until when a pending record holds the key (absent in records of older versions). */
  expiresAt: z.string().optional(),
  response: z.object({
    status: z.number().int(),
    body: z.unknown(),
    location: z.string().optional(),
  }).optional(),
});

/** The outcome of {@linkcode Idempotency.begin}. */
export type Begin =
  | { kind: "replay"; response: StoredResponse }
  | {
    kind: "new";
    /** The record's store key (an async job keeps it, to release it if the job is lost). */
    storeKey: string;
    finish: (r: StoredResponse) => Promise<void>;
    abandon: () => Promise<void>;
  };

async function sha256Hex(text: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Whether a response is kept for replay: successes only. */
function keep(status: number): boolean {
  return status >= 200 && status < 300;
}

/** Idempotency records in a store. */
export class Idempotency {
  #inflight = new Set<string>();

  /**
   * @param store Where records live.
   * @param leaseMs A pending record not renewed for this long is taken over (its instance
   * died); renewed every third of it.
   */
  constructor(private readonly store: Store, private readonly leaseMs: number) {}

  /**
   * Starts a request under `key`.
   *
   * @param key The header's value.
   * @param fingerprint A digest of what the request asks for.
   * @throws {ApiError} 400 `invalid_idempotency_key`, 409 `idempotency_in_progress`,
   * 422 `idempotency_mismatch`.
   */
  async begin(key: string, fingerprint: string): Promise<Begin> {
    if (!KEY.test(key)) {
      throw new ApiError(400, "invalid_idempotency_key", "Idempotency-Key: 1 to 255 visible ASCII");
    }
    const storeKey = `idempotency/${await sha256Hex(key)}.json`;
    if (this.#inflight.has(storeKey)) throw inProgress();
    this.#inflight.add(storeKey);
    const createdAt = new Date().toISOString();
    const pending = () => ({
      state: "pending" as const,
      fingerprint,
      createdAt,
      expiresAt: new Date(Date.now() + this.leaseMs).toISOString(),
    });
    try {
      const raw = await this.store.get(storeKey);
      const found = raw === null
        ? null
        : RecordSchema.safeParse(JSON.parse(new TextDecoder().decode(raw))).data ?? null;
      if (found && found.fingerprint !== fingerprint) {
        throw new ApiError(
          422,
          "idempotency_mismatch",
          "Idempotency-Key reused for another request",
        );
      }
      if (found?.state === "done" && found.response) {
        this.#inflight.delete(storeKey);
        return { kind: "replay", response: found.response };
      }
      if (found) {
        const until = Date.parse(found.expiresAt ?? found.createdAt) +
          (found.expiresAt ? 0 : this.leaseMs);
        if (until > Date.now()) throw inProgress(Math.ceil((until - Date.now()) / 1000));
      }
      await this.#put(storeKey, pending());
    } catch (e) {
      this.#inflight.delete(storeKey);
      throw e;
    }
    let ended = false;
    const renew = setInterval(() => {
      if (!ended) void this.#put(storeKey, pending()).catch(() => {});
    }, Math.max(10, Math.floor(this.leaseMs / 3)));
    const end = () => {
      ended = true;
      clearInterval(renew);
    };
    return {
      kind: "new",
      storeKey,
      finish: async (response) => {
        end();
        try {
          if (keep(response.status)) {
            await this.#put(storeKey, {
              state: "done",
              fingerprint,
              createdAt: new Date().toISOString(),
              response,
            });
          } else {
            await this.store.delete(storeKey);
          }
        } finally {
          this.#inflight.delete(storeKey);
        }
      },
      abandon: async () => {
        end();
        try {
          await this.store.delete(storeKey);
        } finally {
          this.#inflight.delete(storeKey);
        }
      },
    };
  }

  async #put(key: string, record: z.infer<typeof RecordSchema>): Promise<void> {
    const bytes = new TextEncoder().encode(JSON.stringify(record) + "\n");
    await this.store.put(key, bytes, { contentType: "application/json" });
  }
}

function inProgress(retryAfter = 1): ApiError {
  return new ApiError(
    409,
    "idempotency_in_progress",
    "a request with this Idempotency-Key is running",
    Math.max(1, retryAfter),
  );
}

/**
 * A stable digest of a request's meaning (JSON with sorted keys).
 *
 * @param value What the request asks for.
 */
export function fingerprint(value: unknown): Promise<string> {
  const sorted = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(sorted) : v !== null && typeof v === "object"
      ? Object.fromEntries(
        Object.keys(v).sort().map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
      )
      : v;
  return sha256Hex(JSON.stringify(sorted(value)));
}
