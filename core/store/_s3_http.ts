/**
 * Signed S3 requests with bounded retries (for {@linkcode S3Store}): SigV4 by aws4fetch, a
 * timeout per attempt, exponential backoff with jitter on 5xx, 429, timeouts and network
 * errors; and the few pieces of S3's XML the store reads.
 *
 * @module
 */
import { AwsV4Signer } from "aws4fetch";
import { StoreError } from "./store.ts";

/** Credentials of an S3 account (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN). */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** How requests are signed, timed and retried. */
export interface S3HttpOptions {
  credentials: S3Credentials;
  region: string;
  /** Per attempt, headers and body included. */
  timeoutMs: number;
  /** Milliseconds for the whole request, retries and backoff included. */
  deadlineMs: number;
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** Backoff before retry n is a random time in [base·2^(n-1)/2, base·2^(n-1)]. */
  retryBaseMs: number;
  fetch: typeof fetch;
}

/** A response, body read in full. */
export interface S3Response {
  status: number;
  headers: Headers;
  body: Uint8Array;
}

/**
 * Sends one signed request, retrying transient failures. Non-retryable statuses (2xx, 3xx,
 * 4xx but 429) are returned for the caller to judge.
 *
 * @param o Signing and retry options.
 * @param method HTTP method.
 * @param url Full URL.
 * @param what For messages: `s3 store <url>: <what>: ...`.
 * @param init Extra headers and body.
 * @returns The final response.
 * @throws {StoreError} `io` once the attempts are spent, `timeout` past `deadlineMs`.
 */
export async function s3Request(
  o: S3HttpOptions,
  method: string,
  url: string,
  what: string,
  init: { headers?: Record<string, string>; body?: Uint8Array } = {},
): Promise<S3Response> {
  const deadline = AbortSignal.timeout(o.deadlineMs);
  const late = () =>
    new StoreError("timeout", `${what}: no answer within the store deadline of ${o.deadlineMs} ms`);
  for (let attempt = 1;; attempt++) {
    const signed = await new AwsV4Signer({
      method,
      url,
      headers: init.headers ?? {},
      body: init.body as BodyInit | undefined,
      ...o.credentials,
      service: "s3",
      region: o.region,
    }).sign();
    let failure: string;
    try {
      const res = await o.fetch(signed.url, {
        method,
        headers: signed.headers,
        body: init.body as BodyInit | undefined,
        signal: AbortSignal.any([AbortSignal.timeout(o.timeoutMs), deadline]),
      });
      const body = new Uint8Array(await res.arrayBuffer());
      if (res.status < 500 && res.status !== 429) {
        return { status: res.status, headers: res.headers, body };
      }
      failure = `HTTP ${res.status}${errorText(body)}`;
    } catch (e) {
      if (deadline.aborted) throw late();
      const err = e instanceof Error ? e : new Error(String(e));
      failure = err.name === "TimeoutError" ? `no answer in ${o.timeoutMs} ms` : err.message;
    }
    if (attempt >= o.maxAttempts) {
      throw new StoreError("io", `${what}: ${failure} (gave up after ${attempt} attempts)`);
    }
    const ceiling = o.retryBaseMs * 2 ** (attempt - 1);
    await new Promise((r) => setTimeout(r, ceiling * (0.5 + Math.random() / 2)));
    if (deadline.aborted) throw late();
  }
}

/** `: Code: Message` of an S3 XML error body, or "". */
export function errorText(body: Uint8Array): string {
  const xml = new TextDecoder().decode(body);
  const code = xmlText(xml, "Code");
  if (code === undefined) return "";
  const message = xmlText(xml, "Message");
  return `: ${code}${message ? `: ${message}` : ""}`;
}

/** The S3 error code of an XML error body (`NoSuchKey`, `NoSuchBucket`, ...). */
export function errorCode(body: Uint8Array): string | undefined {
  return xmlText(new TextDecoder().decode(body), "Code");
}

/** The text of the first `<tag>` element, entities decoded. */
export function xmlText(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml);
  return m ? decodeEntities(m[1]!) : undefined;
}

/** One page of ListObjectsV2: keys in order, and the token of the next page if any. */
export function parseListPage(body: Uint8Array): { keys: string[]; next?: string } {
  const xml = new TextDecoder().decode(body);
  if (!xml.includes("<ListBucketResult")) {
    throw new Error("not a ListBucketResult document");
  }
  const keys = Array.from(
    xml.matchAll(/<Contents>[\s\S]*?<Key>([^<]*)<\/Key>[\s\S]*?<\/Contents>/g),
    (m) => decodeEntities(m[1]!),
  );
  const truncated = xmlText(xml, "IsTruncated") === "true";
  const next = xmlText(xml, "NextContinuationToken");
  if (truncated && !next) throw new Error("truncated listing without a continuation token");
  return truncated ? { keys, next: next! } : { keys };
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (all, e: string) => {
    if (e.startsWith("#x")) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith("#")) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return ENTITIES[e] ?? all;
  });
}
