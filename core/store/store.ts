/**
 * The one storage interface of the project: a flat map from '/'-separated keys to bytes, with
 * atomic puts and sorted listings. The local filesystem ({@linkcode FsStore}) and S3-compatible
 * object storage implement it; nothing above core/store knows which one it talks to.
 *
 * @module
 */
import { CodedError } from "../errors.ts";

/**
 * Why a store operation failed:
 * - `invalid_key`: the key (or an id turned into a key) breaks the key rules;
 * - `not_found`: the object asked for does not exist (where absence is an error);
 * - `corrupt`: the object exists but its bytes fail verification (sha256, size, format);
 * - `io`: the backend failed (permissions, disk full, network, a file where a folder must be);
 * - `timeout`: the backend did not answer within the store's deadline (a hung disk or server).
 */
export type StoreErrorCode = "invalid_key" | "not_found" | "corrupt" | "io" | "timeout";

/**
 * Milliseconds one store operation may take, retries included (an S3 listing: per page),
 * unless the store is opened with another deadline (`DD_STORE_TIMEOUT_MS`).
 */
export const DEFAULT_STORE_DEADLINE_MS = 15_000;

/**
 * Settles as `work` does, or rejects with `StoreError("timeout")` once `ms` have passed (the
 * work itself is left to finish or fail in the background; its result is dropped).
 *
 * @param work The operation.
 * @param ms The deadline.
 * @param what Names the operation in the message.
 * @returns What `work` gives.
 * @throws {StoreError} `timeout` past the deadline, or what `work` throws.
 *
 * @example
 * ```ts
 * import { StoreError, withDeadline } from "./store.ts";
 * const never = new Promise<never>(() => {});
 * try {
 *   await withDeadline(never, 10, "get 'k'");
 * } catch (e) {
 *   console.assert(e instanceof StoreError && e.code === "timeout");
 * }
 * ```
 */
export function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new StoreError("timeout", `${what}: no answer within ${ms} ms`)),
      ms,
    );
  });
  work.catch(() => {}); // a failure after the deadline is not unhandled
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/**
 * The one error type thrown by stores and by the artifact functions built on them.
 *
 * @example
 * ```ts
 * import { StoreError } from "./store.ts";
 * const e = new StoreError("not_found", "distribution dd_x not found");
 * console.assert(e.code === "not_found" && e instanceof Error);
 * ```
 */
export class StoreError extends CodedError<StoreErrorCode> {}

/** Options of {@linkcode Store.put}. */
export interface PutOptions {
  /** MIME type kept by object stores; the filesystem store ignores it. */
  contentType?: string;
}

/** Options of {@linkcode Store.list}. */
export interface ListOptions {
  /** At most this many keys (a positive integer); all when absent. */
  limit?: number;
  /** Only keys strictly greater than this one (S3 `StartAfter`), for paging. */
  after?: string;
}

/**
 * A key-value object store. Keys are '/'-separated relative paths such as
 * `distributions/<id>/manifest.json` (see {@linkcode validateKey}).
 *
 * @example
 * ```ts
 * import type { Store } from "./store.ts";
 * async function copy(from: Store, to: Store, key: string): Promise<boolean> {
 *   const bytes = await from.get(key);
 *   if (bytes === null) return false;
 *   await to.put(key, bytes);
 *   return true;
 * }
 * ```
 */
export interface Store {
  /** Where the store lives: `file:///abs/dir` or `s3://bucket/prefix`. */
  readonly url: string;
  /**
   * Writes `bytes` under `key`, replacing any previous value. Atomic: readers see the old
   * bytes or the new ones, never a part (temp file then rename, or a single PUT).
   * @throws {StoreError} `invalid_key`, or `io` when the backend fails.
   */
  put(key: string, bytes: Uint8Array, opts?: PutOptions): Promise<void>;
  /**
   * The bytes under `key`, or `null` when there are none.
   * @throws {StoreError} `invalid_key`, or `io` when the backend fails.
   */
  get(key: string): Promise<Uint8Array | null>;
  /** Whether an object exists under `key`. @throws {StoreError} `invalid_key` or `io`. */
  exists(key: string): Promise<boolean>;
  /** Removes `key`; no error when it is absent. @throws {StoreError} `invalid_key` or `io`. */
  delete(key: string): Promise<void>;
  /**
   * Keys that start with `prefix` (plain string prefix, `""` for all), sorted by code unit
   * (the byte order S3 uses for ASCII keys), after `opts.after`, at most `opts.limit`.
   * @throws {StoreError} `invalid_key` for a prefix with characters no key may hold.
   * @throws {RangeError} for a limit that is not a positive integer.
   */
  list(prefix: string, opts?: ListOptions): Promise<string[]>;
  /**
   * An optional capability: a URL that lets anyone GET `key` for `expiresInSeconds`
   * (object stores, e.g. S3's pre-signed URLs). A folder store has none.
   * @throws {RangeError} for a duration the backend does not accept.
   */
  presignGet?(key: string, expiresInSeconds?: number): Promise<string>;
}

/**
 * The longest key accepted, in characters.
 *
 * @example
 * ```ts
 * import { MAX_KEY_LENGTH } from "./store.ts";
 * console.assert(MAX_KEY_LENGTH === 512);
 * ```
 */
export const MAX_KEY_LENGTH = 512;

const KEY_CHARS = /^[A-Za-z0-9._/-]*$/;

/**
 * Checks `key` against the key rules: 1 to 512 characters of `[A-Za-z0-9._/-]`, no leading or
 * trailing '/', no empty, `.` or `..` segments (so no key escapes the store or aliases another;
 * backslashes and NUL are outside the character set).
 *
 * @param key The key to check.
 * @returns `key`, unchanged.
 * @throws {StoreError} `invalid_key`, naming the rule broken.
 *
 * @example
 * ```ts
 * import { validateKey } from "./store.ts";
 * validateKey("distributions/dd_x/manifest.json");
 * try {
 *   validateKey("../etc/passwd");
 * } catch (e) {
 *   console.assert((e as { code: string }).code === "invalid_key");
 * }
 * ```
 */
export function validateKey(key: string): string {
  const bad = (why: string): never => {
    throw new StoreError("invalid_key", `invalid store key ${JSON.stringify(key)}: ${why}`);
  };
  if (typeof key !== "string" || key.length === 0) bad("empty");
  if (key.length > MAX_KEY_LENGTH) bad(`longer than ${MAX_KEY_LENGTH} characters`);
  if (!KEY_CHARS.test(key)) bad("only A-Z a-z 0-9 . _ / - are allowed");
  if (key.startsWith("/")) bad("keys are relative (no leading '/')");
  for (const segment of key.split("/")) {
    if (segment === "") bad("empty path segment ('//' or a trailing '/')");
    if (segment === "." || segment === "..") bad(`'${segment}' segment`);
  }
  return key;
}

/**
 * Checks a listing prefix: `""`, or up to 512 key characters without a leading '/' and with
 * no empty, `.` or `..` segment before its last '/'. A trailing '/' is allowed
 * (`distributions/`); the last segment may be partial (`distributions/dd_`).
 *
 * @param prefix The prefix to check.
 * @returns `prefix`, unchanged.
 * @throws {StoreError} `invalid_key`.
 *
 * @example
 * ```ts
 * import { validatePrefix } from "./store.ts";
 * validatePrefix("distributions/");
 * validatePrefix("");
 * ```
 */
export function validatePrefix(prefix: string): string {
  const bad = (why: string): never => {
    throw new StoreError("invalid_key", `invalid store prefix ${JSON.stringify(prefix)}: ${why}`);
  };
  if (typeof prefix !== "string") bad("not a string");
  if (prefix.length > MAX_KEY_LENGTH) bad(`longer than ${MAX_KEY_LENGTH} characters`);
  if (!KEY_CHARS.test(prefix)) bad("only A-Z a-z 0-9 . _ / - are allowed");
  if (prefix.startsWith("/")) bad("prefixes are relative (no leading '/')");
  // Every segment before the last '/' names a folder; the last one may be partial or empty.
  for (const segment of prefix.split("/").slice(0, -1)) {
    if (segment === "" || segment === "." || segment === "..") bad(`'${segment}' segment`);
  }
  return prefix;
}

/**
 * Checks the options of {@linkcode Store.list}.
 * @throws {RangeError} for a limit that is not a positive integer.
 * @throws {StoreError} `invalid_key` for an `after` with characters no key may hold.
 *
 * @example
 * ```ts
 * import { validateListOptions } from "./store.ts";
 * validateListOptions({ limit: 10, after: "a/b" });
 * ```
 */
export function validateListOptions(opts: ListOptions | undefined): void {
  const limit = opts?.limit;
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
    throw new RangeError(`list limit must be a positive integer, got ${limit}`);
  }
  const after = opts?.after;
  if (after !== undefined && (after.length > MAX_KEY_LENGTH || !KEY_CHARS.test(after))) {
    throw new StoreError("invalid_key", `invalid list 'after' ${JSON.stringify(after)}`);
  }
}
