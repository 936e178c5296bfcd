/**
 * models.lock: the pins of every model the project may load (DESIGN §6). Each entry names its
 * source (a Hub repo at a 40-hex commit, or a folder inside this repository), its format and
 * every file with sha256 and size. An entry may be `pending` (repo known, nothing pinned yet):
 * `deno task models:lock NAME` fills it in where the Hub is reachable, and nothing loads it
 * before then.
 *
 * @example
 * ```ts
 * import { parseModelsLock } from "./lock.ts";
 * const lock = parseModelsLock({ version: 1, models: {} });
 * console.assert(Object.keys(lock.models).length === 0);
 * ```
 * @module
 */
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { z } from "zod";

const SHA256 = /^[0-9a-f]{64}$/;
const COMMIT = /^[0-9a-f]{40}$/;
const REPO = /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9._-]+$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9._-]+)?$/;

/** A '/'-separated relative path with no empty, `.` or `..` segment. */
const relPath = z.string().max(512).regex(/^[A-Za-z0-9._@+-]+(\/[A-Za-z0-9._@+-]+)*$/, {
  message: "must be a relative path of [A-Za-z0-9._@+-] segments",
}).refine((p) => p.split("/").every((s) => s !== "." && s !== ".."), {
  message: "must not contain '.' or '..' segments",
});

const fileSchema = z.strictObject({
  sha256: z.string().regex(SHA256, { message: "must be 64 lowercase hex digits" }),
  size: z.number().int().nonnegative(),
});
const formatSchema = z.enum(["diffusers", "onnx"]);
const repoSchema = z.string().regex(REPO, { message: "must be 'org/name'" });
const hubSource = z.strictObject({
  repo: repoSchema,
  revision: z.string().regex(COMMIT, { message: "must be a 40-hex commit id" }),
});
const pathSource = z.strictObject({ path: relPath });
/**
 * What an entry may say about where its weights come from: the licence they are under, and,
 * for a community copy of a repository that no longer exists, the original's name.
 */
const aboutFields = {
  /** The weights' licence, e.g. `CreativeML Open RAIL++-M`. */
  licence: z.string().min(1).max(200).optional(),
  /** For an unofficial copy: the official repository it mirrors (often deleted). */
  unofficialMirrorOf: repoSchema.optional(),
  note: z.string().optional(),
};

const lockedSchema = z.strictObject({
  source: z.union([hubSource, pathSource]),
  format: formatSchema,
  ...aboutFields,
  files: z.record(relPath, fileSchema).refine((f) => Object.keys(f).length > 0, {
    message: "must list at least one file",
  }),
});
const pendingSchema = z.strictObject({
  pending: z.literal(true),
  source: z.strictObject({ repo: repoSchema }),
  format: formatSchema,
  ...aboutFields,
});

/** A model's file format: a diffusers checkpoint or an ONNX export folder. */
export type ModelFormat = z.infer<typeof formatSchema>;
/** One pinned file: its sha256 (lowercase hex) and size in bytes. */
export type LockedFile = z.infer<typeof fileSchema>;
/** An entry with every file pinned. */
export type LockedEntry = z.infer<typeof lockedSchema>;
/** An entry naming a Hub repo whose revision and files are not pinned yet. */
export type PendingEntry = z.infer<typeof pendingSchema>;
/** One model in models.lock. */
export type LockEntry = LockedEntry | PendingEntry;

/** The whole of models.lock. */
export interface ModelsLock {
  /** Format version of the file: 1. */
  version: 1;
  /** Entries by model name (`org/name` for Hub models, or a plain name). */
  models: Record<string, LockEntry>;
}

/**
 * Whether an entry still waits for `deno task models:lock`.
 *
 * @param entry A models.lock entry.
 * @returns `true` for a pending entry.
 * @example
 * ```ts
 * import { isPending } from "./lock.ts";
 * console.assert(isPending({ pending: true, source: { repo: "a/b" }, format: "onnx" }));
 * ```
 */
export function isPending(entry: LockEntry): entry is PendingEntry {
  return "pending" in entry && entry.pending === true;
}

/**
 * Checks a parsed models.lock document.
 *
 * @param json The parsed JSON.
 * @param file Where it came from, for messages.
 * @returns The lock, typed.
 * @throws {Error} naming the first problems (`models["x"].files["a"].sha256: ...`).
 * @example
 * ```ts
 * import { parseModelsLock } from "./lock.ts";
 * try {
 *   parseModelsLock({ version: 2, models: {} });
 * } catch (e) {
 *   console.assert(String(e).includes("version"));
 * }
 * ```
 */
export function parseModelsLock(json: unknown, file = "models.lock"): ModelsLock {
  const top = z.strictObject({ version: z.literal(1), models: z.record(z.string(), z.unknown()) })
    .safeParse(json);
  if (!top.success) throw new Error(`${file}: ${describe(top.error, [])}`);
  const models: Record<string, LockEntry> = {};
  for (const [name, raw] of Object.entries(top.data.models)) {
    if (!NAME.test(name)) throw new Error(`${file}: invalid model name ${JSON.stringify(name)}`);
    const pending = typeof raw === "object" && raw !== null && "pending" in raw;
    const r = (pending ? pendingSchema : lockedSchema).safeParse(raw);
    if (!r.success) throw new Error(`${file}: ${describe(r.error, ["models", name])}`);
    models[name] = r.data;
  }
  return { version: 1, models };
}

/**
 * Reads and checks a models.lock file.
 *
 * @param path The file.
 * @returns The lock.
 * @throws {Error} when the file is missing, not JSON, or breaks the schema.
 * @example
 * ```ts ignore
 * const lock = await readModelsLock("models.lock");
 * ```
 */
export async function readModelsLock(path: string): Promise<ModelsLock> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: invalid JSON (${(e as Error).message})`, { cause: e });
  }
  return parseModelsLock(json, path);
}

/**
 * models.lock as text: models and files sorted by name, two-space JSON, final newline (so a
 * re-pin changes only the lines it must).
 *
 * @param lock The lock (checked first).
 * @returns The file's text.
 * @example
 * ```ts
 * import { formatModelsLock } from "./lock.ts";
 * console.assert(formatModelsLock({ version: 1, models: {} }).endsWith("}\n"));
 * ```
 */
export function formatModelsLock(lock: ModelsLock): string {
  parseModelsLock(lock);
  const models: Record<string, LockEntry> = {};
  for (const name of Object.keys(lock.models).sort()) {
    const entry = lock.models[name]!;
    if (isPending(entry)) {
      models[name] = entry;
    } else {
      const files: Record<string, LockedFile> = {};
      for (const p of Object.keys(entry.files).sort()) files[p] = entry.files[p]!;
      models[name] = { source: entry.source, format: entry.format, ...aboutOf(entry), files };
    }
  }
  return JSON.stringify({ version: 1, models }, null, 2) + "\n";
}

/**
 * Writes models.lock atomically: a temp file beside it, then a rename over it.
 *
 * @param path The file.
 * @param lock The lock (checked first).
 * @example
 * ```ts ignore
 * await writeModelsLock("models.lock", lock);
 * ```
 */
export async function writeModelsLock(path: string, lock: ModelsLock): Promise<void> {
  const text = formatModelsLock(lock);
  const tmp = join(dirname(path), `.models.lock.~${crypto.randomUUID()}`);
  try {
    await Deno.writeTextFile(tmp, text);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/**
 * The sha256 and size of a file, read in 1 MiB chunks (models are gigabytes).
 *
 * @param path The file (symlinks followed).
 * @returns Its sha256 (lowercase hex) and size.
 * @example
 * ```ts
 * import { hashFile } from "./lock.ts";
 * const tmp = await Deno.makeTempFile();
 * const { size } = await hashFile(tmp);
 * console.assert(size === 0);
 * await Deno.remove(tmp);
 * ```
 */
export async function hashFile(path: string): Promise<LockedFile> {
  const hash = createHash("sha256");
  const file = await Deno.open(path, { read: true });
  const buf = new Uint8Array(1 << 20);
  let size = 0;
  try {
    for (let n = await file.read(buf); n !== null; n = await file.read(buf)) {
      hash.update(buf.subarray(0, n));
      size += n;
    }
  } finally {
    file.close();
  }
  return { sha256: hash.digest("hex"), size };
}

/** What {@linkcode checkFile} found: the file matches, is missing, or differs. */
export type FileCheck =
  | { ok: true }
  | { ok: false; reason: "missing" }
  | { ok: false; reason: "size" | "sha256"; actual: LockedFile };

/** Verified files by real path, with the size and mtime seen then (one hash per process). */
const verified = new Map<string, string>();

/**
 * Checks one file against its pin: size first (cheap), then sha256. A file that matched once
 * in this process is not hashed again while its real path, size and mtime stay the same.
 *
 * @param path The file (symlinks followed, as in a Hugging Face cache snapshot).
 * @param expected Its pin.
 * @returns Whether it matches, and why not.
 * @example
 * ```ts
 * import { checkFile } from "./lock.ts";
 * const r = await checkFile("/no/such/file", { sha256: "0".repeat(64), size: 0 });
 * console.assert(!r.ok && r.reason === "missing");
 * ```
 */
export async function checkFile(path: string, expected: LockedFile): Promise<FileCheck> {
  let real: string, info: Deno.FileInfo;
  try {
    real = await Deno.realPath(path);
    info = await Deno.stat(real);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { ok: false, reason: "missing" };
    throw e;
  }
  if (!info.isFile) return { ok: false, reason: "missing" };
  const stamp = `${info.size}:${info.mtime?.getTime() ?? "?"}:${expected.sha256}`;
  if (verified.get(real) === stamp) return { ok: true };
  if (info.size !== expected.size) {
    return { ok: false, reason: "size", actual: { sha256: "", size: info.size } };
  }
  const actual = await hashFile(real);
  if (actual.sha256 !== expected.sha256) return { ok: false, reason: "sha256", actual };
  verified.set(real, stamp);
  return { ok: true };
}

/**
 * A one-line explanation of a failed {@linkcode checkFile}.
 *
 * @param path The file, as it should be named in the message.
 * @param expected Its pin.
 * @param check The failed check.
 * @returns E.g. `unet/x.safetensors: sha256 abc… != models.lock def…`.
 * @example
 * ```ts
 * import { describeMismatch } from "./lock.ts";
 * const m = describeMismatch("a", { sha256: "0".repeat(64), size: 1 }, { ok: false, reason: "missing" });
 * console.assert(m === "a: missing");
 * ```
 */
export function describeMismatch(path: string, expected: LockedFile, check: FileCheck): string {
  if (check.ok) return `${path}: ok`;
  if (check.reason === "missing") return `${path}: missing`;
  if (check.reason === "size") {
    return `${path}: size ${check.actual.size} != ${expected.size} in models.lock`;
  }
  return `${path}: sha256 ${check.actual.sha256} != ${expected.sha256} in models.lock`;
}

/** What an entry might say about where its weights come from. */
export type EntryAbout = Pick<LockedEntry, "licence" | "unofficialMirrorOf" | "note">;

/**
 * The licence, unofficial-mirror and note fields of an entry (those set), in file order.
 *
 * @param entry A models.lock entry.
 * @returns The fields it sets.
 * @example
 * ```ts
 * import { aboutOf } from "./lock.ts";
 * const a = aboutOf({ pending: true, source: { repo: "a/b" }, format: "diffusers", licence: "MIT" });
 * console.assert(a.licence === "MIT" && !("note" in a));
 * ```
 */
export function aboutOf(entry: LockEntry): EntryAbout {
  const out: EntryAbout = {};
  if (entry.licence !== undefined) out.licence = entry.licence;
  if (entry.unofficialMirrorOf !== undefined) out.unofficialMirrorOf = entry.unofficialMirrorOf;
  if (entry.note !== undefined) out.note = entry.note;
  return out;
}

function describe(error: z.ZodError, base: PropertyKey[]): string {
  const shown = error.issues.slice(0, 3).map((i) => {
    const path = [...base, ...i.path].map((k, n) => {
      if (typeof k === "number") return `[${k}]`;
      const s = String(k);
      return /^[A-Za-z_]\w*$/.test(s) ? (n === 0 ? s : `.${s}`) : `[${JSON.stringify(s)}]`;
    }).join("");
    const why = i.code === "invalid_key" ? i.issues.map((k) => k.message).join(", ") : i.message;
    return `${path || "(top level)"}: ${why}`;
  });
  const more = error.issues.length - shown.length;
  return shown.join("; ") + (more > 0 ? `; and ${more} more` : "");
}
