/**
 * The S3-compatible object store (AWS S3, R2, MinIO, GCS interop): a key is an object under
 * the store's prefix in a bucket. Requests are signed with SigV4 (aws4fetch), each attempt
 * has a timeout, and transient failures are retried a bounded number of times.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { AwsV4Signer } from "aws4fetch";
import { errorCode, errorText, parseListPage, type S3Credentials, s3Request } from "./_s3_http.ts";
import {
  DEFAULT_STORE_DEADLINE_MS,
  type ListOptions,
  type PutOptions,
  type Store,
  StoreError,
  validateKey,
  validateListOptions,
  validatePrefix,
} from "./store.ts";

export type { S3Credentials } from "./_s3_http.ts";

/** Options of {@linkcode S3Store}. */
export interface S3StoreOptions {
  /** The bucket (3–63 characters of a-z 0-9 . -). */
  bucket: string;
  /** Key prefix inside the bucket (`a/b`, no leading or trailing '/'); default none. */
  prefix?: string;
  /** Region (default `us-east-1`). */
  region?: string;
  /** Endpoint such as `http://127.0.0.1:9000`; default AWS (`https://s3.<region>.amazonaws.com`). */
  endpoint?: string;
  /** Path-style addressing (`<endpoint>/<bucket>/<key>`); default: true with a custom endpoint. */
  forcePathStyle?: boolean;
  /** Access keys. */
  credentials: S3Credentials;
  /** Timeout of one attempt, in ms (default 30 000). */
  timeoutMs?: number;
  /**
   * Milliseconds for one request, retries and backoff included (default
   * `DEFAULT_STORE_DEADLINE_MS`); past it the operation fails with `StoreError("timeout")`.
   */
  deadlineMs?: number;
  /** Attempts per request, the first included (default 4). */
  maxAttempts?: number;
  /** First backoff ceiling in ms, doubled per retry (default 200). */
  retryBaseMs?: number;
  /** Keys per ListObjectsV2 page (1–1000, default 1000). */
  pageSize?: number;
  /** The fetch to use (default the global one). */
  fetch?: typeof fetch;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
/** The metadata entry holding the sha256 of an object's bytes. */
const SHA_META = "x-amz-meta-sha256";

/**
 * A {@linkcode Store} in an S3-compatible bucket.
 *
 * - `put` is one PUT (atomic: readers see the old object or the new one) carrying the body's
 *   sha256 as `x-amz-content-sha256` (signed; the server refuses a body that does not match)
 *   and as metadata `sha256`.
 * - `get` checks the bytes against that metadata when present: a mismatch is `corrupt`.
 * - `list` pages through ListObjectsV2 (`after` becomes StartAfter); objects under the prefix
 *   whose names no key can have are skipped.
 * - `delete` succeeds when the object is absent.
 * - 5xx, 429, timeouts and network errors are retried (4 attempts, exponential backoff with
 *   jitter); then the call fails with `io`.
 *
 * @example
 * ```ts ignore
 * import { S3Store } from "./s3_store.ts";
 * const store = S3Store.fromUrl("s3://my-bucket/dreamdistribution");
 * await store.put("a/b.txt", new TextEncoder().encode("hi"));
 * const url = await store.presignGet("a/b.txt", 600);
 * ```
 */
export class S3Store implements Store {
  /** `s3://bucket` or `s3://bucket/prefix`. */
  readonly url: string;
  /** The bucket. */
  readonly bucket: string;
  /** The key prefix inside the bucket: "" or ending in '/'. */
  readonly prefix: string;
  readonly #base: string;
  readonly #http: Parameters<typeof s3Request>[0];
  readonly #pageSize: number;

  /**
   * @param opts Bucket, prefix, endpoint, credentials, retry settings.
   * @throws {Error} for a bad bucket name, prefix, endpoint or page size.
   */
  constructor(opts: S3StoreOptions) {
    if (!BUCKET.test(opts.bucket) || opts.bucket.includes("..")) {
      throw new Error(`invalid S3 bucket name ${JSON.stringify(opts.bucket)}`);
    }
    const prefix = opts.prefix ?? "";
    if (prefix !== "") validateKey(prefix);
    this.bucket = opts.bucket;
    this.prefix = prefix === "" ? "" : `${prefix}/`;
    this.url = `s3://${opts.bucket}${prefix === "" ? "" : `/${prefix}`}`;
    const region = opts.region ?? "us-east-1";
    const endpoint = new URL(opts.endpoint ?? `https://s3.${region}.amazonaws.com`);
    if (endpoint.protocol !== "http:" && endpoint.protocol !== "https:") {
      throw new Error(`S3 endpoint ${endpoint.href}: expected http:// or https://`);
    }
    const pathStyle = opts.forcePathStyle ??
      (opts.endpoint !== undefined || opts.bucket.includes("."));
    const root = endpoint.href.replace(/\/+$/, "");
    // The bucket's URL, no trailing '/': objects are `${base}/${key}`, listings `${base}?...`.
    this.#base = pathStyle
      ? `${root}/${opts.bucket}`
      : `${endpoint.protocol}//${opts.bucket}.${endpoint.host}${
        endpoint.pathname.replace(/\/+$/, "")
      }`;
    this.#pageSize = opts.pageSize ?? 1000;
    if (!Number.isInteger(this.#pageSize) || this.#pageSize < 1 || this.#pageSize > 1000) {
      throw new Error(`S3 page size must be 1..1000, got ${opts.pageSize}`);
    }
    this.#http = {
      credentials: opts.credentials,
      region,
      timeoutMs: opts.timeoutMs ?? 30_000,
      deadlineMs: opts.deadlineMs ?? DEFAULT_STORE_DEADLINE_MS,
      maxAttempts: opts.maxAttempts ?? 4,
      retryBaseMs: opts.retryBaseMs ?? 200,
      fetch: opts.fetch ?? fetch,
    };
  }

  /**
   * Opens `s3://bucket[/prefix]` with endpoint, region and credentials from the environment:
   * AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL (path-style addressing), AWS_REGION or
   * AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN.
   *
   * @param url The store URL.
   * @param env The environment (default: the process's).
   * @param overrides Options that win over the URL and the environment (timeouts, fetch).
   * @returns The store; nothing is sent yet.
   * @throws {Error} for a malformed URL or missing credentials.
   * @example
   * ```ts
   * import { S3Store } from "./s3_store.ts";
   * const s = S3Store.fromUrl("s3://bucket/runs", { AWS_ACCESS_KEY_ID: "k", AWS_SECRET_ACCESS_KEY: "s" });
   * console.assert(s.url === "s3://bucket/runs" && s.prefix === "runs/");
   * ```
   */
  static fromUrl(
    url: string,
    env: Record<string, string> = Deno.env.toObject(),
    overrides: Partial<S3StoreOptions> = {},
  ): S3Store {
    const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/i.exec(url);
    if (!m) throw new Error(`store URL ${url}: expected s3://bucket/prefix`);
    const prefix = (m[2] ?? "").replace(/\/+$/, "");
    if (prefix !== "") {
      try {
        validateKey(prefix);
      } catch (e) {
        throw new Error(`store URL ${url}: bad prefix: ${(e as Error).message}`);
      }
    }
    const accessKeyId = env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
    if (!accessKeyId || !secretAccessKey) {
      throw new Error(
        `store URL ${url}: no credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)`,
      );
    }
    const credentials: S3Credentials = { accessKeyId, secretAccessKey };
    if (env.AWS_SESSION_TOKEN) credentials.sessionToken = env.AWS_SESSION_TOKEN;
    const opts: S3StoreOptions = { bucket: m[1]!, prefix, credentials };
    const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL;
    if (endpoint) opts.endpoint = endpoint;
    const region = env.AWS_REGION || env.AWS_DEFAULT_REGION;
    if (region) opts.region = region;
    return new S3Store({ ...opts, ...overrides });
  }

  /** @inheritdoc */
  async put(key: string, bytes: Uint8Array, opts?: PutOptions): Promise<void> {
    validateKey(key);
    if (!(bytes instanceof Uint8Array)) {
      throw new TypeError(`put('${key}'): bytes must be a Uint8Array`);
    }
    const sha = createHash("sha256").update(bytes).digest("hex");
    const r = await this.#send("PUT", key, `put '${key}'`, {
      headers: {
        "content-type": opts?.contentType ?? "application/octet-stream",
        "x-amz-content-sha256": sha,
        [SHA_META]: sha,
      },
      body: bytes,
    });
    if (r.status < 200 || r.status > 299) throw this.#fail(`put '${key}'`, r.status, r.body);
  }

  /** @inheritdoc */
  async get(key: string): Promise<Uint8Array | null> {
    validateKey(key);
    const r = await this.#send("GET", key, `get '${key}'`);
    if (r.status === 404 && errorCode(r.body) !== "NoSuchBucket") return null;
    if (r.status !== 200) throw this.#fail(`get '${key}'`, r.status, r.body);
    const want = r.headers.get(SHA_META);
    if (want !== null) {
      const got = createHash("sha256").update(r.body).digest("hex");
      if (!SHA256_HEX.test(want) || got !== want) {
        throw new StoreError(
          "corrupt",
          `s3 store ${this.url}: '${key}' is corrupt: sha256 ${got} of ${r.body.length} bytes ` +
            `!= ${want} recorded at write`,
        );
      }
    }
    return r.body;
  }

  /** @inheritdoc */
  async exists(key: string): Promise<boolean> {
    validateKey(key);
    const r = await this.#send("HEAD", key, `stat '${key}'`);
    if (r.status === 200) return true;
    if (r.status === 404) return false;
    throw this.#fail(`stat '${key}'`, r.status, r.body);
  }

  /** @inheritdoc */
  async delete(key: string): Promise<void> {
    validateKey(key);
    const r = await this.#send("DELETE", key, `delete '${key}'`);
    if (r.status === 404 && errorCode(r.body) === "NoSuchBucket") {
      throw this.#fail(`delete '${key}'`, r.status, r.body);
    }
    if ((r.status < 200 || r.status > 299) && r.status !== 404) {
      throw this.#fail(`delete '${key}'`, r.status, r.body);
    }
  }

  /** @inheritdoc */
  async list(prefix: string, opts?: ListOptions): Promise<string[]> {
    validatePrefix(prefix);
    validateListOptions(opts);
    const after = opts?.after ?? "";
    const limit = opts?.limit ?? Infinity;
    const out: string[] = [];
    let token: string | undefined;
    do {
      const q = new URLSearchParams({ "list-type": "2", prefix: this.prefix + prefix });
      q.set("max-keys", String(Math.min(this.#pageSize, limit - out.length)));
      if (token !== undefined) q.set("continuation-token", token);
      else if (after !== "") q.set("start-after", this.prefix + after);
      const what = `list '${prefix}'`;
      const r = await s3Request(this.#http, "GET", `${this.#base}?${q}`, this.#what(what));
      if (r.status !== 200) throw this.#fail(what, r.status, r.body);
      let page: { keys: string[]; next?: string };
      try {
        page = parseListPage(r.body);
      } catch (e) {
        throw new StoreError("io", `s3 store ${this.url}: ${what}: ${(e as Error).message}`);
      }
      for (const full of page.keys) {
        const key = full.slice(this.prefix.length);
        if (!full.startsWith(this.prefix) || !isKey(key) || key <= after) continue;
        if (out.length < limit) out.push(key);
      }
      token = page.next;
    } while (token !== undefined && out.length < limit);
    return out;
  }

  /**
   * A pre-signed URL that lets anyone GET `key` until it expires (SigV4 query signing).
   *
   * @param key The key (need not exist yet).
   * @param seconds Validity, 1 to 604 800 (7 days); default 3600.
   * @returns The URL.
   * @throws {StoreError} `invalid_key`; {@linkcode RangeError} for a bad duration.
   * @example
   * ```ts
   * import { S3Store } from "./s3_store.ts";
   * const s = new S3Store({ bucket: "bkt", credentials: { accessKeyId: "k", secretAccessKey: "s" } });
   * const url = await s.presignGet("a.png", 60);
   * console.assert(url.includes("X-Amz-Signature=") && url.includes("X-Amz-Expires=60"));
   * ```
   */
  async presignGet(key: string, seconds = 3600): Promise<string> {
    validateKey(key);
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > 604_800) {
      throw new RangeError(`presign duration must be 1..604800 seconds, got ${seconds}`);
    }
    const signed = await new AwsV4Signer({
      method: "GET",
      url: `${this.#base}/${this.prefix}${key}?X-Amz-Expires=${seconds}`,
      ...this.#http.credentials,
      service: "s3",
      region: this.#http.region,
      signQuery: true,
    }).sign();
    return signed.url.toString();
  }

  #send(
    method: string,
    key: string,
    what: string,
    init?: { headers?: Record<string, string>; body?: Uint8Array },
  ) {
    const url = `${this.#base}/${this.prefix}${key}`;
    return s3Request(this.#http, method, url, this.#what(what), init);
  }

  #what(what: string): string {
    return `s3 store ${this.url}: ${what}`;
  }

  #fail(what: string, status: number, body: Uint8Array): StoreError {
    return new StoreError("io", `s3 store ${this.url}: ${what}: HTTP ${status}${errorText(body)}`);
  }
}

function isKey(key: string): boolean {
  try {
    validateKey(key);
    return true;
  } catch {
    return false;
  }
}
