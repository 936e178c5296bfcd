/**
 * Choosing a store by URL.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { FsStore } from "./fs_store.ts";
import { S3Store } from "./s3_store.ts";
import type { Store } from "./store.ts";

/**
 * Opens the store a URL names:
 * - `file:///abs/dir`, or a plain path (absolute, or relative to the working directory):
 *   an {@linkcode FsStore} in that directory (created by the first write);
 * - `s3://bucket/prefix`: an {@linkcode S3Store}, with endpoint, region and credentials from
 *   the environment (see {@linkcode S3Store.fromUrl}).
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
export function openStore(url: string): Promise<Store> {
  return Promise.resolve().then(() => open(url));
}

function open(url: string): Store {
  if (typeof url !== "string" || url.trim() === "") throw new Error("store URL is empty");
  // A scheme has 2+ characters, so Windows drive paths (C:\data) stay paths.
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]+):/.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) return new FsStore(url);
  if (scheme === "file") {
    let path: string;
    try {
      path = fileURLToPath(url);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw new Error(`store URL ${url}: not a local file URL (file:///abs/dir): ${why}`);
    }
    return new FsStore(path);
  }
  if (scheme === "s3") return S3Store.fromUrl(url);
  throw new Error(`store URL ${url}: unsupported scheme '${scheme}:' (use file:/// or s3://)`);
}
