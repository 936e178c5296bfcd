/**
 * Webhook delivery, signed per the Standard Webhooks specification
 * (https://www.standardwebhooks.com, spec/standard-webhooks.md):
 *
 * - `webhook-id`: the message id (`msg_...`), the same on every retry, so receivers can
 *   de-duplicate;
 * - `webhook-timestamp`: Unix seconds of this attempt, so receivers can refuse replays (the
 *   usual tolerance is 5 minutes);
 * - `webhook-signature`: `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`.
 *
 * The key is the configured secret: `whsec_<base64>` as the spec writes secrets (the bytes after
 * the prefix, base64-decoded), or any other string as its UTF-8 bytes. The old body-only
 * `X-DD-Signature: sha256=<hex>` is still sent beside them, deprecated: it cannot stop replays.
 * A message is POSTed to the (guarded) URL and retried with backoff until a 2xx answer or the
 * tries run out.
 *
 * @example
 * ```ts
 * import { signStandard } from "./webhook.ts";
 * const sig = await signStandard(
 *   "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
 *   "msg_p5jXN8AQM9LWM0D4loKWxJek",
 *   1614265330,
 *   new TextEncoder().encode('{"test": 2432232314}'),
 * );
 * console.assert(sig === "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
 * ```
 *
 * @module
 */
import { fromBase64, toBase64 } from "./base64.ts";
import { postOnce } from "./fetch_limited.ts";
import type { NetOptions } from "./url_guard.ts";

/** The deprecated body-only signature header's name. */
export const SIGNATURE_HEADER = "X-DD-Signature";

/** The events a training request may subscribe to (`webhook_events`). */
export const WEBHOOK_EVENTS = ["start", "progress", "completed"] as const;
/** One subscribable event. */
export type WebhookEvent = typeof WEBHOOK_EVENTS[number];
/** What a request gets without `webhook_events`: the end of the job only. */
export const DEFAULT_WEBHOOK_EVENTS: readonly WebhookEvent[] = ["completed"];

async function hmac(key: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey(
    "raw",
    key as Uint8Array<ArrayBuffer>,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, data as Uint8Array<ArrayBuffer>));
}

/**
 * `sha256=` and the hex HMAC-SHA256 of `body` under `secret` (the deprecated webhook header;
 * also the internal job requests' signature).
 *
 * @param secret The shared secret.
 * @param body The exact bytes sent.
 */
export async function signBody(secret: string, body: Uint8Array): Promise<string> {
  const mac = await hmac(new TextEncoder().encode(secret), body);
  return "sha256=" + Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The HMAC key of a secret: the base64-decoded part of `whsec_<base64>`, else the UTF-8 bytes.
 *
 * @throws {RangeError} For a `whsec_` secret whose rest is not base64.
 */
export function webhookKey(secret: string): Uint8Array {
  if (!secret.startsWith("whsec_")) return new TextEncoder().encode(secret);
  const key = fromBase64(secret.slice(6));
  if (key === null || key.length === 0) throw new RangeError("webhook secret: whsec_ needs base64");
  return key;
}

/**
 * The Standard Webhooks signature of one message: `v1,<base64 HMAC-SHA256>` over
 * `<id>.<timestamp>.<body>`.
 *
 * @param secret `whsec_<base64>` or a plain string (see {@linkcode webhookKey}).
 * @param id The `webhook-id`.
 * @param timestamp The `webhook-timestamp` (Unix seconds).
 * @param body The exact bytes sent.
 */
export async function signStandard(
  secret: string,
  id: string,
  timestamp: number,
  body: Uint8Array,
): Promise<string> {
  const prefix = new TextEncoder().encode(`${id}.${timestamp}.`);
  const content = new Uint8Array(prefix.length + body.length);
  content.set(prefix);
  content.set(body, prefix.length);
  return "v1," + toBase64(await hmac(webhookKey(secret), content));
}

/**
 * Checks a received message the way a receiver should (a reference for receivers and tests):
 * the timestamp within `toleranceS` of now, and one of the space-separated `v1,` signatures
 * equal to the expected one (constant-time compare).
 *
 * @returns Whether the message is authentic and fresh.
 */
export async function verifyStandard(
  secret: string,
  headers: Headers,
  body: Uint8Array,
  opts: { toleranceS?: number; nowS?: number } = {},
): Promise<boolean> {
  const id = headers.get("webhook-id"), ts = headers.get("webhook-timestamp");
  const sigs = headers.get("webhook-signature");
  if (!id || !ts || !sigs || !/^\d+$/.test(ts)) return false;
  const now = opts.nowS ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(ts)) > (opts.toleranceS ?? 300)) return false;
  const want = new TextEncoder().encode(await signStandard(secret, id, Number(ts), body));
  return sigs.split(" ").some((s) => {
    const got = new TextEncoder().encode(s);
    if (got.length !== want.length) return false;
    let diff = 0;
    for (let i = 0; i < got.length; i++) diff |= got[i]! ^ want[i]!;
    return diff === 0;
  });
}

/** Options of {@linkcode deliverWebhook}. */
export interface DeliveryOptions {
  secret: string;
  net: NetOptions;
  /** Waits before the 2nd, 3rd, ... try, in ms (default [1000, 4000]: three tries). */
  backoffMs?: readonly number[];
  /** The `webhook-id` (default a fresh `msg_...`). */
  id?: string;
  /** Clock in ms (tests). */
  now?: () => number;
}

/** What happened to a delivery. */
export interface DeliveryResult {
  delivered: boolean;
  attempts: number;
  /** The last HTTP status (0: no answer). */
  status: number;
}

/** A fresh message id: `msg_` and 24 random base32 characters. */
export function newMessageId(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  return "msg_" +
    Array.from(crypto.getRandomValues(new Uint8Array(24)), (b) => alphabet[b & 31]).join("");
}

/**
 * POSTs `payload` as signed JSON, retrying on failure; every try carries the same
 * `webhook-id` and a fresh `webhook-timestamp` and signature.
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
  const id = opts.id ?? newMessageId();
  const legacy = await signBody(opts.secret, body);
  const waits = opts.backoffMs ?? [1000, 4000];
  let status = 0;
  for (let attempt = 1; attempt <= waits.length + 1; attempt++) {
    if (attempt > 1) await new Promise((r) => setTimeout(r, waits[attempt - 2]));
    const ts = Math.floor((opts.now ?? Date.now)() / 1000);
    status = await postOnce(url, body, {
      "Content-Type": "application/json",
      "User-Agent": "dreamdistribution-webhook/1",
      "webhook-id": id,
      "webhook-timestamp": String(ts),
      "webhook-signature": await signStandard(opts.secret, id, ts, body),
      [SIGNATURE_HEADER]: legacy,
    }, opts.net);
    if (status >= 200 && status < 300) return { delivered: true, attempts: attempt, status };
  }
  return { delivered: false, attempts: waits.length + 1, status };
}
