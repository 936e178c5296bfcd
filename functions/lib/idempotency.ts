/**
 * `Idempotency-Key` for POST /v1/distributions: the first successful result (status and
 * body) is stored under `idempotency/<sha256(key)>.json` and replayed to a retry with the same
 * key and the same request; a retry with another request is refused (422), and a duplicate
 * arriving while the first is still running gets 409. A failed request leaves no record, so
 * its retry runs again.
 * Within one instance the check is atomic; across instances sharing a store it is
 * check-then-write (the store has no conditional put), so two instances racing on one key
 * within milliseconds could both run.
 *
 * @module
 */
import { z } from "@hono/zod-openapi";
import type { Store } from "../../core/store/store.ts";
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
  response: z.object({
    status: z.number().int(),
    body: z.unknown(),
    location: z.string().optional(),
  }).optional(),
});

/** The outcome of {@linkcode Idempotency.begin}. */
export type Begin =
  | { kind: "replay"; response: StoredResponse }
  | { kind: "new"; finish: (r: StoredResponse) => Promise<void>; abandon: () => Promise<void> };

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
   * @param staleMs A pending record older than this is taken over (its instance died).
   */
  constructor(private readonly store: Store, private readonly staleMs: number) {}

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
      if (found && Date.now() - Date.parse(found.createdAt) < this.staleMs) throw inProgress();
      await this.#put(storeKey, {
        state: "pending",
        fingerprint,
        createdAt: new Date().toISOString(),
      });
    } catch (e) {
      this.#inflight.delete(storeKey);
      throw e;
    }
    return {
      kind: "new",
      finish: async (response) => {
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

function inProgress(): ApiError {
  return new ApiError(
    409,
    "idempotency_in_progress",
    "a request with this Idempotency-Key is running",
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
