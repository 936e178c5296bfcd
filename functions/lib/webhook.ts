/**
 * Webhook delivery: the JSON body is signed with HMAC-SHA256 under the configured secret
 * (`X-DD-Signature: sha256=<hex>`) and POSTed to the (guarded) URL, retried with backoff
 * until a 2xx answer or the tries run out.
 *
 * @example
 * ```ts
 * import { signBody } from "./webhook.ts";
 * const sig = await signBody("secret", new TextEncoder().encode("{}"));
 * console.assert(/^sha256=[0-9a-f]{64}$/.test(sig));
 * ```
 *
 * @module
 */
import { postOnce } from "./fetch_limited.ts";
import type { NetOptions } from "./url_guard.ts";

/** The signature header's name. */
export const SIGNATURE_HEADER = "X-DD-Signature";

/**
 * `sha256=` and the hex HMAC-SHA256 of `body` under `secret`.
 *
 * @param secret The shared secret.
 * @param body The exact bytes sent.
 */
export async function signBody(secret: string, body: Uint8Array): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(
    await crypto.subtle.sign("HMAC", key, body as Uint8Array<ArrayBuffer>),
  );
  return "sha256=" + Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Options of {@linkcode deliverWebhook}. */
export interface DeliveryOptions {
  secret: string;
  net: NetOptions;
  /** Waits before the 2nd, 3rd, ... try, in ms (default [1000, 4000]: three tries). */
  backoffMs?: readonly number[];
}

/** What happened to a delivery. */
export interface DeliveryResult {
  delivered: boolean;
  attempts: number;
  /** The last HTTP status (0: no answer). */
  status: number;
}

/**
 * POSTs `payload` as signed JSON, retrying on failure.
 *
 * @param url The receiver (checked against the address rules on every try).
 * @param payload The JSON value sent.
 * @param opts Secret, network rules, backoff.
 * @returns Whether a try got a 2xx answer, and how many tries were made.
 */
export async function deliverWebhook(
  url: string,
  payload: unknown,
  opts: DeliveryOptions,
): Promise<DeliveryResult> {
  const body = new TextEncoder().encode(JSON.stringify(payload));
  const headers = {
    "Content-Type": "application/json",
    "User-Agent": "dreamdistribution-webhook/1",
    [SIGNATURE_HEADER]: await signBody(opts.secret, body),
  };
  const waits = opts.backoffMs ?? [1000, 4000];
  let status = 0;
  for (let attempt = 1; attempt <= waits.length + 1; attempt++) {
    if (attempt > 1) await new Promise((r) => setTimeout(r, waits[attempt - 2]));
    status = await postOnce(url, body, headers, opts.net);
    if (status >= 200 && status < 300) return { delivered: true, attempts: attempt, status };
  }
  return { delivered: false, attempts: waits.length + 1, status };
}
