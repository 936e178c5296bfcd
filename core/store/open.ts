/**
 * Choosing a store by URL.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { FsStore } from "./fs_store.ts";
import { S3Store } from "./s3_store.ts";
import { DEFAULT_STORE_DEADLINE_MS, type Store } from "./store.ts";

/**
 * Opens the store a URL names:
 * - `file:///abs/dir`, or a plain path (absolute, or relative to the working directory):
 *   an {@linkcode FsStore} in that directory (created by the first write);
 * - `s3://bucket/prefix`: an {@linkcode S3Store}, with endpoint, region and credentials from
 *   the environment (see {@linkcode S3Store.fromUrl}).
 *
 * Every operation has a deadline: `opts.deadlineMs`, else `DD_STORE_TIMEOUT_MS` from the
 * environment, else `DEFAULT_STORE_DEADLINE_MS` (15 s).
 *
 * @param url The store URL or path.
 * @returns The store; nothing is read or written yet.
 * @throws {Error} For an empty URL, a `file:` URL with a host, an `s3:` URL that is malformed
 * or lacks credentials in the environment, or any other scheme.
 *
 * @example
 * ```ts
 * import { openStore } from "./open.ts";
 * const store = await openStore("file:///tmp/dreamdistribution");
 * console.assert(store.url === "file:///tmp/dreamdistribution");
 * ```
 */
export function openStore(url: string, opts: { deadlineMs?: number } = {}): Promise<Store> {
  return Promise.resolve().then(() => open(url, opts.deadlineMs ?? deadlineFromEnv()));
}

/** `DD_STORE_TIMEOUT_MS` (a positive integer), else the default deadline. */
function deadlineFromEnv(): number {
  let raw: string | undefined;
  try {
    raw = Deno.env.get("DD_STORE_TIMEOUT_MS");
  } catch {
    raw = undefined; // no env permission: the default
  }
  if (raw === undefined || raw === "") return DEFAULT_STORE_DEADLINE_MS;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 1) {
    throw new Error(`DD_STORE_TIMEOUT_MS must be a positive integer of ms, got ${raw}`);
  }
  return ms;
}

function open(url: string, deadlineMs: number): Store {
  if (typeof url !== "string" || url.trim() === "") throw new Error("store URL is empty");
  // A scheme has 2+ characters, so Windows drive paths (C:\data) stay paths.
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]+):/.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) return new FsStore(url, { deadlineMs });
  if (scheme === "file") {
    let path: string;
    try {
      path = fileURLToPath(url);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw new Error(`store URL ${url}: not a local file URL (file:///abs/dir): ${why}`);
    }
    return new FsStore(path, { deadlineMs });
  }
  if (scheme === "s3") return S3Store.fromUrl(url, Deno.env.toObject(), { deadlineMs });
  throw new Error(`store URL ${url}: unsupported scheme '${scheme}:' (use file:/// or s3://)`);
}
