/**
 * A learned prompt distribution as a folder in a {@linkcode Store} (DESIGN §7):
 *
 *     distributions/<id>/prompts.safetensors   float32 ctx [K,M,d], mu [L,d], sigma [L,d],
 *                                              features [K,L,d] (the K prompts' text features,
 *                                              for the low-rank and mixture samplers; absent
 *                                              in artifacts written before them)
 *     distributions/<id>/manifest.json         what it is, how it was made, files with sha256
 *
 * The manifest is written last and deleted first, so a distribution is visible exactly when
 * its manifest is, and a manifest always describes complete files; reads verify size and
 * sha256 before parsing.
 *
 * @module
 */
import { z } from "zod";
import { type Store, StoreError } from "../store/mod.ts";
import { type Float32Tensor, readSafetensors, writeSafetensors } from "./safetensors_write.ts";

/**
 * The `format` of manifests this module writes and reads.
 *
 * @example
 * ```ts
 * import { MANIFEST_FORMAT } from "./distribution_artifact.ts";
 * console.assert(MANIFEST_FORMAT === "dreamdistribution/1");
 * ```
 */
export const MANIFEST_FORMAT = "dreamdistribution/1";

const ID = /^[a-z0-9_-]{1,64}$/;
const PROMPTS = "prompts.safetensors";
const MANIFEST = "manifest.json";
const MANIFEST_KEY = /^distributions\/([a-z0-9_-]{1,64})\/manifest\.json$/;

const dim = z.number().int().positive();
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, "expected a lowercase hex sha256");
const jsonRecord = z.record(z.string(), z.json());

/**
 * The zod schema of `manifest.json`. Unknown keys are dropped when reading. `options` (the
 * training options) is typed `Record<string, unknown>` so that any options object can be
 * passed, and checked to hold JSON values only (finite numbers, no `undefined`), so that it
 * reads back deep-equal.
 *
 * @example
 * ```ts
 * import { manifestSchema } from "./distribution_artifact.ts";
 * console.assert(!manifestSchema.safeParse({ format: "dreamdistribution/1" }).success);
 * ```
 */
export const manifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  id: z.string().regex(ID, "expected 1 to 64 of a-z 0-9 _ -"),
  createdAt: z.iso.datetime({ offset: true }),
  model: z.object({ name: z.string().min(1), revision: z.string().min(1) }),
  K: dim,
  M: dim,
  L: dim,
  d: dim,
  /** The training template around the learned tokens: [BOS] prefix V suffix [EOS]. */
  template: z.object({ prefix: z.string(), suffix: z.string() }),
  options: z.record(z.string(), z.unknown()).refine(
    (o) => jsonRecord.safeParse(o).success,
    "options must hold JSON values only (strings, finite numbers, booleans, null, arrays, objects)",
  ),
  /** sha256 of each reference image's bytes. */
  references: z.array(z.object({ sha256 })),
  lossCurve: z.array(z.number()),
  files: z.object({
    [PROMPTS]: z.object({ sha256, size: z.number().int().nonnegative() }),
  }),
});

/** A parsed `manifest.json` (see {@linkcode manifestSchema}). */
export type Manifest = z.infer<typeof manifestSchema>;

/** What {@linkcode saveDistribution} takes: the manifest less what it computes. */
export type ManifestInput = Omit<Manifest, "files" | "format">;

/** The tensors of a distribution, row-major float32. */
export interface DistributionTensors {
  /** The learned soft prompts V: K prompts of M token vectors of width d. */
  ctx: { data: Float32Array; shape: [number, number, number] };
  /** Mean text feature over the K prompts. */
  mu: { data: Float32Array; shape: [number, number] };
  /** Unbiased standard deviation over the K prompts (non-negative). */
  sigma: { data: Float32Array; shape: [number, number] };
  /** The K prompts' text features c (optional: older artifacts lack them). */
  features?: { data: Float32Array; shape: [number, number, number] };
}

const inputSchema = manifestSchema.omit({ format: true, files: true });

/**
 * A fresh random distribution id: `dd_` and 20 lowercase base32 characters (100 random bits).
 *
 * @returns The id.
 *
 * @example
 * ```ts
 * import { newDistributionId } from "./distribution_artifact.ts";
 * console.assert(/^dd_[a-z2-7]{20}$/.test(newDistributionId()));
 * ```
 */
export function newDistributionId(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  return "dd_" + Array.from(bytes, (b) => alphabet[b & 31]).join("");
}

/**
 * Saves a distribution: checks everything first (manifest fields; tensor shapes against K, M,
 * L, d; finite values; sigma >= 0), so nothing is written when anything is wrong; then writes
 * `prompts.safetensors` and, last, `manifest.json`. Saving over an existing id removes the old
 * manifest first, so the distribution is never seen with mismatched files.
 *
 * @param store Where to save.
 * @param manifest The manifest without `format` and `files` (computed here).
 * @param tensors ctx [K,M,d], mu [L,d], sigma [L,d].
 * @returns The manifest as written.
 * @throws {StoreError} `invalid_key` for a bad id; `io` when the store fails.
 * @throws {RangeError} For an invalid manifest field or tensor, naming it.
 *
 * @example
 * ```ts
 * import { FsStore } from "../store/fs_store.ts";
 * import { loadDistribution, newDistributionId, saveDistribution } from "./distribution_artifact.ts";
 * const store = new FsStore(await Deno.makeTempDir());
 * const [K, M, L, d] = [2, 1, 3, 4];
 * const m = await saveDistribution(store, {
 *   id: newDistributionId(), createdAt: new Date().toISOString(),
 *   model: { name: "tiny", revision: "main" }, K, M, L, d,
 *   template: { prefix: "a photo of", suffix: "" }, options: { steps: 10 },
 *   references: [], lossCurve: [0.5, 0.4],
 * }, {
 *   ctx: { data: new Float32Array(K * M * d), shape: [K, M, d] },
 *   mu: { data: new Float32Array(L * d), shape: [L, d] },
 *   sigma: { data: new Float32Array(L * d).fill(1), shape: [L, d] },
 * });
 * console.assert((await loadDistribution(store, m.id)).tensors.sigma.data[0] === 1);
 * await Deno.remove(store.root, { recursive: true });
 * ```
 */
export async function saveDistribution(
  store: Store,
  manifest: ManifestInput,
  tensors: DistributionTensors,
): Promise<Manifest> {
  validateId(manifest?.id);
  const parsed = inputSchema.safeParse(manifest);
  if (!parsed.success) {
    throw new RangeError(`invalid distribution manifest: ${describe(parsed.error)}`);
  }
  const m = parsed.data;
  checkTensors(m, tensors);
  const bytes = writeSafetensors(
    {
      ctx: tensors.ctx,
      mu: tensors.mu,
      sigma: tensors.sigma,
      ...(tensors.features ? { features: tensors.features } : {}),
    },
    { format: MANIFEST_FORMAT, id: m.id },
  );
  const full: Manifest = manifestSchema.parse({
    format: MANIFEST_FORMAT,
    ...m,
    files: { [PROMPTS]: { sha256: await sha256Hex(bytes), size: bytes.length } },
  });
  const manifestKey = key(m.id, MANIFEST);
  await store.delete(manifestKey); // (when saving over an id: invisible while rewritten)
  await store.put(key(m.id, PROMPTS), bytes, { contentType: "application/octet-stream" });
  const json = new TextEncoder().encode(JSON.stringify(full, null, 2) + "\n");
  await store.put(manifestKey, json, { contentType: "application/json" });
  return full;
}

/**
 * Loads a distribution, verifying `prompts.safetensors` against the manifest (size, sha256)
 * and its tensors against K, M, L, d.
 *
 * @param store Where to look.
 * @param id The distribution's id.
 * @returns The manifest and the tensors (fresh arrays).
 * @throws {StoreError} `invalid_key` for a bad id; `not_found` when there is no manifest (or
 * its files were deleted meanwhile); `corrupt` for a manifest that does not parse or a file
 * whose size, sha256 or content does not match it; `io` when the store fails.
 *
 * @example
 * ```ts
 * import { FsStore } from "../store/fs_store.ts";
 * import { loadDistribution } from "./distribution_artifact.ts";
 * const store = new FsStore(await Deno.makeTempDir());
 * try {
 *   await loadDistribution(store, "dd_missing");
 * } catch (e) {
 *   console.assert((e as { code: string }).code === "not_found");
 * }
 * await Deno.remove(store.root, { recursive: true });
 * ```
 */
export async function loadDistribution(
  store: Store,
  id: string,
): Promise<{ manifest: Manifest; tensors: DistributionTensors }> {
  validateId(id);
  const raw = await store.get(key(id, MANIFEST));
  if (raw === null) throw new StoreError("not_found", `distribution ${id} not found`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(raw));
  } catch (e) {
    corrupt(id, "manifest.json is not valid JSON", e);
  }
  const format = (json as { format?: unknown } | null)?.format;
  if (format !== MANIFEST_FORMAT) {
    corrupt(id, `manifest format ${JSON.stringify(format)} is not "${MANIFEST_FORMAT}"`);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) corrupt(id, `invalid manifest.json: ${describe(parsed.error)}`);
  const manifest = parsed.data;
  if (manifest.id !== id) corrupt(id, `manifest.json names id ${manifest.id}`);

  const bytes = await store.get(key(id, PROMPTS));
  if (bytes === null) {
    throw new StoreError("not_found", `distribution ${id}: ${PROMPTS} is missing (deleted?)`);
  }
  const want = manifest.files[PROMPTS];
  if (bytes.length !== want.size) {
    corrupt(id, `${PROMPTS} size mismatch: ${bytes.length} bytes, manifest says ${want.size}`);
  }
  const got = await sha256Hex(bytes);
  if (got !== want.sha256) {
    corrupt(id, `${PROMPTS} sha256 mismatch: file ${got}, manifest ${want.sha256}`);
  }
  let tensors: Map<string, Float32Tensor>;
  try {
    tensors = readSafetensors(bytes).tensors;
  } catch (e) {
    corrupt(id, `${PROMPTS}: ${e instanceof Error ? e.message : String(e)}`, e);
  }
  const { K, M, L, d } = manifest;
  const take = <S extends number[]>(name: string, shape: S): { data: Float32Array; shape: S } => {
    const t = tensors.get(name);
    if (t === undefined) corrupt(id, `${PROMPTS} has no tensor '${name}'`);
    if (t.shape.join() !== shape.join()) {
      corrupt(id, `${PROMPTS} tensor '${name}' has shape [${t.shape}], manifest says [${shape}]`);
    }
    const problem = valueProblem(name, t.data);
    if (problem !== null) corrupt(id, `${PROMPTS}: ${problem} (refused at load)`);
    return { data: t.data, shape };
  };
  return {
    manifest,
    tensors: {
      ctx: take<[number, number, number]>("ctx", [K, M, d]),
      mu: take<[number, number]>("mu", [L, d]),
      sigma: take<[number, number]>("sigma", [L, d]),
      ...(tensors.has("features")
        ? { features: take<[number, number, number]>("features", [K, L, d]) }
        : {}),
    },
  };
}

/**
 * Deletes a distribution: the manifest first (from then on it is invisible, even if the rest
 * fails), then every other key under `distributions/<id>/`. Deleting a missing id is no error.
 *
 * @param store Where it lives.
 * @param id The distribution's id.
 * @throws {StoreError} `invalid_key` for a bad id; `io` when the store fails.
 *
 * @example
 * ```ts
 * import { FsStore } from "../store/fs_store.ts";
 * import { deleteDistribution } from "./distribution_artifact.ts";
 * const store = new FsStore(await Deno.makeTempDir());
 * await deleteDistribution(store, "dd_missing"); // absent: no error
 * await Deno.remove(store.root, { recursive: true });
 * ```
 */
export async function deleteDistribution(store: Store, id: string): Promise<void> {
  validateId(id);
  await store.delete(key(id, MANIFEST));
  for (const k of await store.list(`distributions/${id}/`)) await store.delete(k);
}

/**
 * The ids of the distributions that have a manifest, sorted, strictly after `opts.after`, at
 * most `opts.limit` (for paging: pass the last id of a page as the next `after`). Folders
 * without a manifest (half-written or half-deleted) are not listed.
 *
 * @param store Where to look.
 * @param opts `limit` (a positive integer) and `after` (an id).
 * @returns Sorted ids.
 * @throws {StoreError} `invalid_key` for a bad `after`; `io` when the store fails.
 * @throws {RangeError} For a limit that is not a positive integer.
 *
 * @example
 * ```ts
 * import { FsStore } from "../store/fs_store.ts";
 * import { listDistributions } from "./distribution_artifact.ts";
 * const store = new FsStore(await Deno.makeTempDir());
 * console.assert((await listDistributions(store, { limit: 10 })).length === 0);
 * await Deno.remove(store.root, { recursive: true });
 * ```
 */
export async function listDistributions(
  store: Store,
  opts?: { limit?: number; after?: string },
): Promise<string[]> {
  const limit = opts?.limit;
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
    throw new RangeError(`limit must be a positive integer, got ${limit}`);
  }
  const after = opts?.after;
  if (after !== undefined) validateId(after);
  // Key order is not id order ('-' sorts before '/'), so all manifests are listed, then sorted.
  const ids = (await store.list("distributions/"))
    .map((k) => MANIFEST_KEY.exec(k)?.[1])
    .filter((id): id is string => id !== undefined && (after === undefined || id > after))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return limit === undefined ? ids : ids.slice(0, limit);
}

/**
 * A distribution's manifest alone, for listings: absent (`null`), unreadable (why, as a
 * string: not valid JSON, or the first schema issue), or parsed. Its files are not read.
 *
 * @param store Where to look.
 * @param id A distribution id.
 * @returns The manifest, why it cannot be read, or null.
 * @throws {StoreError} `invalid_key` for a bad id; `io` when the store fails.
 * @example
 * ```ts
 * import { FsStore } from "../store/fs_store.ts";
 * import { readManifest } from "./distribution_artifact.ts";
 * const store = new FsStore(await Deno.makeTempDir());
 * console.assert((await readManifest(store, "dd_missing")) === null);
 * await Deno.remove(store.root, { recursive: true });
 * ```
 */
export async function readManifest(store: Store, id: string): Promise<Manifest | string | null> {
  validateId(id);
  const raw = await store.get(key(id, MANIFEST));
  if (raw === null) return null;
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(raw));
  } catch {
    return "manifest.json is not valid JSON";
  }
  const parsed = manifestSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  return `invalid manifest.json: ${issue?.path.join(".") || "(root)"}: ${issue?.message}`;
}

function validateId(id: unknown): asserts id is string {
  if (typeof id !== "string" || !ID.test(id)) {
    throw new StoreError(
      "invalid_key",
      `invalid distribution id ${JSON.stringify(id)}: expected 1 to 64 of a-z 0-9 _ -`,
    );
  }
}

function corrupt(id: string, why: string, cause?: unknown): never {
  throw new StoreError("corrupt", `distribution ${id}: ${why}`, { cause });
}

function key(id: string, file: string): string {
  return `distributions/${id}/${file}`;
}

/** Checks tensors against the manifest's dimensions; throws a RangeError naming the tensor. */
function checkTensors(
  m: { K: number; M: number; L: number; d: number },
  t: DistributionTensors,
): void {
  const want: Record<keyof DistributionTensors, number[]> = {
    ctx: [m.K, m.M, m.d],
    mu: [m.L, m.d],
    sigma: [m.L, m.d],
    features: [m.K, m.L, m.d],
  };
  const names = ["ctx", "mu", "sigma", ...(t?.features ? ["features" as const] : [])] as const;
  for (const name of names) {
    const x = t?.[name];
    const shape = want[name];
    if (!(x?.data instanceof Float32Array)) {
      throw new RangeError(`tensor ${name}: data must be a Float32Array`);
    }
    if (!Array.isArray(x.shape) || x.shape.join() !== shape.join()) {
      throw new RangeError(
        `tensor ${name} has shape [${x.shape}], K=${m.K} M=${m.M} L=${m.L} d=${m.d} need [${shape}]`,
      );
    }
    const count = shape.reduce((a, b) => a * b, 1);
    if (x.data.length !== count) {
      throw new RangeError(`tensor ${name} has ${x.data.length} values, [${shape}] needs ${count}`);
    }
    const problem = valueProblem(name, x.data);
    if (problem !== null) throw new RangeError(problem);
  }
}

/**
 * The largest magnitude a stored value may have. Text features and token embeddings are of
 * order 1 to 100; a tensor past this (or holding NaN or an infinity) is a diverged or
 * tampered artifact, refused on save and on load even when its sha256 matches.
 */
export const MAX_ABS_TENSOR_VALUE = 1e6;

/** What is wrong with a tensor's values (non-finite, absurd, negative sigma), or null. */
function valueProblem(name: string, data: Float32Array): string | null {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!Number.isFinite(v)) return `tensor ${name}[${i}] is ${v}: not finite`;
    if (Math.abs(v) > MAX_ABS_TENSOR_VALUE) {
      return `tensor ${name}[${i}] is ${v}: beyond +-${MAX_ABS_TENSOR_VALUE}`;
    }
    if (name === "sigma" && v < 0) {
      return `tensor sigma[${i}] is ${v}: a standard deviation is >= 0`;
    }
  }
  return null;
}

function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join(".") : "(root)"}: ${i.message}`)
    .join("; ");
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
