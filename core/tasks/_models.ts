/**
 * Model names for the deno tasks: an existing directory is a diffusers checkpoint used as
 * it is (unlocked, revision "local"); any other name goes through models.lock
 * (core/models/registry.ts): verified, fetched from the Hub on first use.
 *
 * @module
 */
import { resolve } from "node:path";
import type { ResolvedModel } from "../engine/engine.ts";
import { resolveModel as resolveLocked } from "../models/registry.ts";
import { isDirectory } from "./_cli.ts";

/** The model used when `--model` is not given: the embedded model, shipped in the repo. */
export const DEFAULT_MODEL = "dd-world-tiny";

/**
 * Where a model's files are: a directory path → that directory (revision "local");
 * a name → its models.lock entry, files verified (and fetched when missing).
 * @throws Error for a name not in models.lock, a pending entry, or a failed fetch.
 * @example
 * ```ts
 * import { DEFAULT_MODEL, resolveModel } from "./_models.ts";
 * const { revision } = await resolveModel(DEFAULT_MODEL);
 * console.assert(revision.startsWith("sha256-"));
 * ```
 */
export async function resolveModel(name: string): Promise<ResolvedModel> {
  if (await isDirectory(name)) return { dir: resolve(name), revision: "local" };
  const m = await resolveLocked(name);
  return { dir: m.dir, revision: m.revision };
}

/**
 * The name to record for `--model`: an absolute path for a directory (so a distribution
 * trained from `./ckpt` can be sampled from elsewhere), the name itself otherwise.
 * @throws Error for an unknown model (see {@linkcode resolveModel}).
 */
export async function modelName(arg: string): Promise<string> {
  const { dir } = await resolveModel(arg);
  return (await isDirectory(arg)) ? dir : arg;
}
