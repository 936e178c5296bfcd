/**
 * The local-filesystem store: a key is a file under a root directory.
 *
 * @module
 */
import { dirname, join, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import {
  DEFAULT_STORE_DEADLINE_MS,
  type ListOptions,
  type PutOptions,
  type Store,
  StoreError,
  validateKey,
  validateListOptions,
  validatePrefix,
  withDeadline,
} from "./store.ts";

/** A directory entry name that can be a key segment (temp files contain '~', so never are). */
const SEGMENT = /^[A-Za-z0-9._-]+$/;

/**
 * A {@linkcode Store} in a local directory: the key `a/b/c.json` is the file
 * `<root>/a/b/c.json`.
 *
 * - `put` writes a temp file (`.~<random>`, a name no key can have) in the key's own folder,
 *   fsyncs it, renames it over the key (atomic on POSIX filesystems) and fsyncs the folder;
 *   on failure the temp file is removed. Parent folders are created as needed.
 * - `delete` removes the file, then the folders it leaves empty (never the root).
 * - `list` walks the folders in key order and stops at `limit`; temp files, symlinks and
 *   names no key can have are skipped.
 * - `contentType` is ignored (the filesystem keeps no metadata).
 *
 * A filesystem cannot hold both `a` and `a/b`: such a `put` fails with `io`.
 *
 * @example
 * ```ts
 * import { FsStore } from "./fs_store.ts";
 * const store = new FsStore(await Deno.makeTempDir());
 * await store.put("notes/hello.txt", new TextEncoder().encode("hi"));
 * console.assert((await store.list("notes/")).join() === "notes/hello.txt");
 * await Deno.remove(store.root, { recursive: true });
 * ```
 */
export class FsStore implements Store {
  /** The root directory, absolute. */
  readonly root: string;
  /** `file:///...` URL of the root. */
  readonly url: string;

  /** Milliseconds one operation may take before it fails with `StoreError("timeout")`. */
  readonly deadlineMs: number;

  /**
   * @param root The directory holding the store (created by the first `put`); a relative path
   * is resolved against the working directory.
   * @param opts `deadlineMs` per operation (default `DEFAULT_STORE_DEADLINE_MS`): a hung disk
   * or network mount fails the operation instead of holding its caller.
   */
  constructor(root: string, opts: { deadlineMs?: number } = {}) {
    this.root = resolve(root);
    this.url = pathToFileURL(this.root).href;
    this.deadlineMs = opts.deadlineMs ?? DEFAULT_STORE_DEADLINE_MS;
  }

  /** @inheritdoc */
  put(key: string, bytes: Uint8Array, opts?: PutOptions): Promise<void> {
    return this.#timed(this.#put(key, bytes, opts), `put '${key}'`);
  }

  /** @inheritdoc */
  get(key: string): Promise<Uint8Array | null> {
    return this.#timed(this.#get(key), `get '${key}'`);
  }

  /** @inheritdoc */
  exists(key: string): Promise<boolean> {
    return this.#timed(this.#exists(key), `stat '${key}'`);
  }

  /** @inheritdoc */
  delete(key: string): Promise<void> {
    return this.#timed(this.#delete(key), `delete '${key}'`);
  }

  /** @inheritdoc */
  list(prefix: string, opts?: ListOptions): Promise<string[]> {
    return this.#timed(this.#list(prefix, opts), `list '${prefix}'`);
  }

  #timed<T>(work: Promise<T>, what: string): Promise<T> {
    return withDeadline(work, this.deadlineMs, `fs store ${this.url}: ${what}`);
  }

  async #put(key: string, bytes: Uint8Array, _opts?: PutOptions): Promise<void> {
    validateKey(key);
    if (!(bytes instanceof Uint8Array)) {
      throw new TypeError(`put('${key}'): bytes must be a Uint8Array`);
    }
    const path = this.#path(key);
    const dir = dirname(path);
    for (let attempt = 0;; attempt++) {
      try {
        await Deno.mkdir(dir, { recursive: true });
      } catch (e) {
        throw this.#io("create the folder of", key, e);
      }
      const tmp = join(dir, `.~${randomHex()}`);
      try {
        await writeSynced(tmp, bytes);
      } catch (e) {
        await removeQuietly(tmp);
        // A concurrent delete may have pruned the fresh folder: create it again.
        if (e instanceof Deno.errors.NotFound && attempt < 2) continue;
        throw this.#io("write", key, e);
      }
      try {
        await Deno.rename(tmp, path);
      } catch (e) {
        await removeQuietly(tmp);
        throw this.#io("write", key, e);
      }
      await syncDir(dir);
      return;
    }
  }

  async #get(key: string): Promise<Uint8Array | null> {
    validateKey(key);
    try {
      return await Deno.readFile(this.#path(key));
    } catch (e) {
      if (isAbsent(e)) return null;
      throw this.#io("read", key, e);
    }
  }

  async #exists(key: string): Promise<boolean> {
    validateKey(key);
    try {
      return (await Deno.stat(this.#path(key))).isFile;
    } catch (e) {
      if (isAbsent(e)) return false;
      throw this.#io("stat", key, e);
    }
  }

  async #delete(key: string): Promise<void> {
    validateKey(key);
    const path = this.#path(key);
    try {
      const info = await Deno.lstat(path);
      if (info.isDirectory) return; // a folder is not a key
      await Deno.remove(path);
    } catch (e) {
      if (isAbsent(e)) return;
      throw this.#io("delete", key, e);
    }
    await this.#prune(dirname(path));
  }

  async #list(prefix: string, opts?: ListOptions): Promise<string[]> {
    validatePrefix(prefix);
    validateListOptions(opts);
    const after = opts?.after ?? "";
    const limit = opts?.limit ?? Infinity;
    const out: string[] = [];
    // Depth-first, each folder sorted with folders named as name + '/', which every key inside
    // starts with: the visiting order is the keys' sorted order, so `limit` can stop the walk.
    const visit = async (dirKey: string): Promise<void> => {
      const items = (await this.#readDir(dirKey))
        .filter((e) => SEGMENT.test(e.name) && e.name !== "." && e.name !== "..")
        .filter((e) => e.isFile || e.isDirectory)
        .map((e) => ({ key: dirKey + e.name + (e.isDirectory ? "/" : ""), isDir: e.isDirectory }))
        .filter((it) => it.key.startsWith(prefix))
        .sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
      for (const it of items) {
        if (out.length >= limit) return;
        if (!it.isDir) {
          if (it.key > after) out.push(it.key);
        } else if (!(it.key < after && !after.startsWith(it.key))) {
          await visit(it.key); // (else every key inside sorts before `after`)
        }
      }
    };
    await visit(prefix.slice(0, prefix.lastIndexOf("/") + 1));
    return out;
  }

  /** The file of `key` (validated: it stays under the root). */
  #path(key: string): string {
    return join(this.root, ...key.split("/"));
  }

  /** Removes the empty folders from `dir` up to (not including) the root. */
  async #prune(dir: string): Promise<void> {
    while (dir !== this.root && dir.startsWith(this.root + sep)) {
      try {
        await Deno.remove(dir); // fails on a folder that is not empty: stop there
      } catch {
        return;
      }
      dir = dirname(dir);
    }
  }

  #io(op: string, key: string, e: unknown): StoreError {
    const why = e instanceof Error ? e.message : String(e);
    return new StoreError("io", `fs store ${this.url}: cannot ${op} '${key}': ${why}`, {
      cause: e,
    });
  }

  /** The entries of the folder `dirKey` ("" or ending in '/'); a missing folder is empty. */
  async #readDir(dirKey: string): Promise<Deno.DirEntry[]> {
    try {
      return await Array.fromAsync(Deno.readDir(join(this.root, ...dirKey.split("/"))));
    } catch (e) {
      if (isAbsent(e)) return [];
      throw this.#io("list", dirKey === "" ? "." : dirKey, e);
    }
  }
}

function isAbsent(e: unknown): boolean {
  return e instanceof Deno.errors.NotFound || e instanceof Deno.errors.IsADirectory ||
    e instanceof Deno.errors.NotADirectory;
}

function randomHex(): string {
  const b = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

async function writeSynced(path: string, bytes: Uint8Array): Promise<void> {
  const file = await Deno.open(path, { write: true, createNew: true, mode: 0o644 });
  try {
    let off = 0;
    while (off < bytes.length) off += await file.write(bytes.subarray(off));
    await file.sync();
  } finally {
    file.close();
  }
}

/** Makes a rename durable; best effort (some platforms cannot open folders). */
async function syncDir(dir: string): Promise<void> {
  try {
    const d = await Deno.open(dir, { read: true });
    try {
      await d.sync();
    } finally {
      d.close();
    }
  } catch {
    // durability of the rename is not guaranteed here; atomicity is.
  }
}

async function removeQuietly(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch {
    // already gone
  }
}
