/**
 * Operators' own model mirrors (DESIGN §6: Hub repositories vanish). A mirror is an
 * S3-compatible prefix (`s3://bucket/prefix`) or a local folder (`/srv/models`,
 * `file:///srv/models`) holding pinned models in the Hugging Face cache's snapshot layout:
 *
 *     <mirror>/models--<org>--<name>/snapshots/<40-hex commit>/<path>
 *
 * so an existing Hugging Face cache folder (say a shared volume filled by Python tools or by
 * `deno task models:fetch`) is a mirror as it is, and `deno task models:mirror` writes the same
 * keys into object storage. Files read from a mirror are checked against models.lock exactly as
 * Hub downloads are (size, then sha256) and land in the local Hugging Face cache, so they are
 * read from the mirror once per cache. Configured by `DD_MODEL_MIRROR`.
 *
 * @example
 * ```ts
 * import { mirrorKey } from "./mirror.ts";
 * const key = mirrorKey("org/name", "a".repeat(40), "unet/config.json");
 * console.assert(key === `models--org--name/snapshots/${"a".repeat(40)}/unet/config.json`);
 * ```
 * @module
 */
import { createHash } from "node:crypto";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { S3Store } from "../store/mod.ts";
import type { LockedFile } from "./lock.ts";
import { ModelError } from "./model_error.ts";

/** Where a model's files can be read from and written to, by key. */
export interface ModelMirror {
  /** `s3://bucket/prefix` or `file:///abs/dir`. */
  readonly url: string;
  /**
   * The bytes under `key` as a stream, or `null` when the mirror has no such file.
   * @throws {ModelError} `unavailable` when the mirror fails (network, 5xx, refused).
   */
  read(key: string): Promise<ReadableStream<Uint8Array> | null>;
  /**
   * Stores the local file `file` under `key`, replacing what was there (a single PUT to S3,
   * which holds the file in memory; temp file then rename in a folder).
   */
  write(key: string, file: string): Promise<void>;
}

/**
 * The key of a pinned file in a mirror: the Hugging Face cache's snapshot path.
 *
 * @param repo `org/name`.
 * @param revision The 40-hex commit.
 * @param path The file inside the repository.
 * @returns `models--org--name/snapshots/<revision>/<path>`.
 * @example
 * ```ts
 * import { mirrorKey } from "./mirror.ts";
 * console.assert(mirrorKey("a/b", "c".repeat(40), "x.json").startsWith("models--a--b/"));
 * ```
 */
export function mirrorKey(repo: string, revision: string, path: string): string {
  return `models--${repo.replace("/", "--")}/snapshots/${revision}/${path}`;
}

/**
 * Opens the mirror a URL names: `s3://bucket/prefix` (endpoint, region and credentials from
 * the environment's `AWS_*` variables, as stores) or a folder (`file:///dir` or a path).
 *
 * @param url The mirror's URL or folder.
 * @param env The environment, for S3 credentials (default: the process's).
 * @returns The mirror; nothing is read yet.
 * @throws {ModelError} `invalid` for a malformed URL or missing S3 credentials.
 * @example
 * ```ts
 * import { openMirror } from "./mirror.ts";
 * console.assert(openMirror("/srv/models").url === "file:///srv/models");
 * ```
 */
export function openMirror(
  url: string,
  env: Record<string, string> = Deno.env.toObject(),
): ModelMirror {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]+):/.exec(url)?.[1]?.toLowerCase();
  try {
    if (scheme === "s3") return s3Mirror(S3Store.fromUrl(url, env));
    if (scheme === undefined) return folderMirror(resolve(url));
    if (scheme === "file") return folderMirror(fileURLToPath(url));
  } catch (e) {
    throw new ModelError("invalid", `model mirror ${url}: ${(e as Error).message}`, { cause: e });
  }
  throw new ModelError("invalid", `model mirror ${url}: use s3://bucket/prefix or a folder`);
}

/**
 * The mirror `DD_MODEL_MIRROR` names, or `null` when it is unset or empty.
 *
 * @param env The environment (default: the process's).
 * @returns The mirror, or null.
 * @example
 * ```ts
 * import { mirrorFromEnv } from "./mirror.ts";
 * console.assert(mirrorFromEnv({}) === null);
 * ```
 */
export function mirrorFromEnv(
  env: Record<string, string> = Deno.env.toObject(),
): ModelMirror | null {
  const url = env.DD_MODEL_MIRROR?.trim();
  return url ? openMirror(url, env) : null;
}

function folderMirror(root: string): ModelMirror {
  const at = (key: string) => {
    const p = resolve(root, key);
    if (relative(root, p).startsWith("..")) {
      throw new ModelError("invalid", `model mirror ${root}: key ${key} leaves the folder`);
    }
    return p;
  };
  return {
    url: `file://${root}`,
    async read(key) {
      try {
        return (await Deno.open(at(key), { read: true })).readable;
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) return null;
        throw new ModelError(
          "unavailable",
          `model mirror ${root}: ${key}: ${(e as Error).message}`,
        );
      }
    },
    async write(key, file) {
      const target = at(key);
      await Deno.mkdir(dirname(target), { recursive: true });
      const tmp = `${target}.~${crypto.randomUUID()}`;
      try {
        await Deno.copyFile(file, tmp);
        await Deno.rename(tmp, target);
      } catch (e) {
        await Deno.remove(tmp).catch(() => {});
        throw e;
      }
    },
  };
}

function s3Mirror(store: S3Store): ModelMirror {
  return {
    url: store.url,
    async read(key) {
      const what = `model mirror ${store.url}: ${key}`;
      let res: Response;
      try {
        res = await fetch(await store.presignGet(key, 3600));
      } catch (e) {
        throw new ModelError("unavailable", `${what}: ${(e as Error).message}`, { cause: e });
      }
      if (res.status === 404) {
        await res.body?.cancel();
        return null;
      }
      if (!res.ok || res.body === null) {
        await res.body?.cancel();
        throw new ModelError("unavailable", `${what}: HTTP ${res.status}`);
      }
      return res.body;
    },
    async write(key, file) {
      await store.put(key, await Deno.readFile(file));
    },
  };
}

/**
 * The sha256 and size of a stream's bytes (read to the end).
 *
 * @param stream The bytes.
 * @returns Their sha256 (lowercase hex) and count.
 * @example
 * ```ts
 * import { hashStream } from "./mirror.ts";
 * const { size } = await hashStream(new Blob(["abc"]).stream());
 * console.assert(size === 3);
 * ```
 */
export async function hashStream(stream: ReadableStream<Uint8Array>): Promise<LockedFile> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest("hex"), size };
}

/**
 * Copies one pinned file from a mirror into the Hugging Face cache: streamed into
 * `blobs/<sha256>.incomplete` while hashed, checked against the pin, renamed to
 * `blobs/<sha256>` and linked from the snapshot folder (relative symlink, as the Hub library
 * does; a copy where links are not allowed).
 *
 * @param mirror The mirror.
 * @param name The model's name, for messages.
 * @param repoDir `<cacheDir>/models--org--name`.
 * @param key The file's key in the mirror.
 * @param target The file's snapshot path in the cache.
 * @param pin Its models.lock pin.
 * @returns `false` when the mirror has no such file (nothing written), `true` when it is in
 * the cache, verified.
 * @throws {ModelError} `corrupt` when the mirror's bytes differ from the pin (nothing kept).
 */
export async function fetchFromMirror(
  mirror: ModelMirror,
  name: string,
  repoDir: string,
  key: string,
  target: string,
  pin: LockedFile,
): Promise<boolean> {
  const stream = await mirror.read(key);
  if (stream === null) return false;
  const blob = join(repoDir, "blobs", pin.sha256);
  const partial = `${blob}.~${crypto.randomUUID()}.incomplete`;
  await Deno.mkdir(dirname(blob), { recursive: true });
  const hash = createHash("sha256");
  let size = 0;
  const file = await Deno.open(partial, { write: true, create: true, truncate: true });
  try {
    for await (const chunk of stream) {
      hash.update(chunk);
      size += chunk.length;
      if (size > pin.size) break;
      for (let off = 0; off < chunk.length;) off += await file.write(chunk.subarray(off));
    }
  } catch (e) {
    file.close();
    await Deno.remove(partial).catch(() => {});
    throw new ModelError("unavailable", `${name}: reading ${mirror.url}/${key}: ${e}`, {
      cause: e,
    });
  }
  file.close();
  const sha256 = hash.digest("hex");
  if (size !== pin.size || sha256 !== pin.sha256) {
    await Deno.remove(partial).catch(() => {});
    const why = size !== pin.size
      ? `size ${size > pin.size ? `> ${pin.size}` : size} != ${pin.size}`
      : `sha256 ${sha256} != ${pin.sha256}`;
    throw new ModelError(
      "corrupt",
      `${name}: ${key.split("/").slice(3).join("/")}: ${why} in models.lock ` +
        `(from mirror ${mirror.url}; refused, nothing kept)`,
    );
  }
  await Deno.rename(partial, blob);
  await Deno.mkdir(dirname(target), { recursive: true });
  await Deno.remove(target).catch(() => {});
  try {
    await Deno.symlink(relative(dirname(target), blob), target);
  } catch {
    await Deno.copyFile(blob, target);
  }
  return true;
}
