/**
 * Model names for the deno tasks: an existing directory is a diffusers checkpoint used as
 * it is (unlocked, revision "local"); any other name goes through models.lock
 * (core/models/registry.ts): verified, fetched from the Hub on first use.
 *
 * @module
 */
import { type ResolvedModel, resolveModel as resolveLocked } from "../models/mod.ts";
import { isDirectory, type OptionTable } from "./_cli.ts";

/** The model used when `--model` is not given: the embedded model, shipped in the repo. */
export const DEFAULT_MODEL = "dd-world-tiny";

/** The `--model` option of the tasks that load a model, as an option-table entry. */
export const MODEL_OPTION: OptionTable = {
  model: {
    type: "string",
    arg: "NAME|DIR",
    default: DEFAULT_MODEL,
    help: "model name or diffusers checkpoint dir",
  },
};

/**
 * Where a model's files are: a directory path → that directory (revision "local");
 * a name → its models.lock entry, files verified (and fetched when missing). The registry's
 * `resolveModel` with `folders: true`, the one resolver.
 * @throws Error for a name not in models.lock, a pending entry, or a failed fetch.
 * @example
 * ```ts
 * import { DEFAULT_MODEL, resolveModel } from "./_models.ts";
 * const { revision } = await resolveModel(DEFAULT_MODEL);
 * console.assert(revision.startsWith("sha256-"));
 * ```
 */
export function resolveModel(name: string): Promise<ResolvedModel> {
  return resolveLocked(name, { folders: true });
}

/**
 * `--model`, resolved once: the name to record (an absolute path for a directory, so a
 * distribution trained from `./ckpt` can be sampled from elsewhere; the name itself
 * otherwise) and where its files are.
 * @throws Error for an unknown model (see {@linkcode resolveModel}).
 */
export async function modelArg(arg: string): Promise<{ name: string; files: ResolvedModel }> {
  const files = await resolveModel(arg);
  return { name: (await isDirectory(arg)) ? files.dir : arg, files };
}

/**
 * A resolver that answers `known` for its name without resolving it again, and resolves any
 * other name (for an Engine whose model was resolved by the task).
 */
export function resolverWith(
  known: { name: string; files: ResolvedModel },
): (name: string) => Promise<ResolvedModel> {
  return (name) => name === known.name ? Promise.resolve(known.files) : resolveModel(name);
}
