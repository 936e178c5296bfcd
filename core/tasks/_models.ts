/**
 * Model names for the deno tasks, until the models.lock registry (core/models/registry.ts)
 * replaces {@linkcode resolveModel}: an existing directory is a diffusers checkpoint used as
 * it is (revision "local"); `tiny-sd2-fixture` is the test checkpoint in this repository.
 *
 * @module
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { ResolvedModel } from "../engine/engine.ts";
import { isDirectory } from "./_cli.ts";

/** The model used when `--model` is not given. */
export const DEFAULT_MODEL = "tiny-sd2-fixture";

const FIXTURE_DIR = fileURLToPath(
  new URL("../../tests/fixtures/diffusers-tiny-sd2", import.meta.url),
);

/**
 * Where a model's files are: a directory path → that directory (revision "local");
 * {@linkcode DEFAULT_MODEL} → the repository's fixture checkpoint (revision "fixture").
 * @throws Error "unknown model ..." for anything else.
 * @example
 * ```ts
 * import { DEFAULT_MODEL, resolveModel } from "./_models.ts";
 * const { revision } = await resolveModel(DEFAULT_MODEL);
 * console.assert(revision === "fixture");
 * ```
 */
export async function resolveModel(name: string): Promise<ResolvedModel> {
  if (await isDirectory(name)) return { dir: resolve(name), revision: "local" };
  if (name === DEFAULT_MODEL) return { dir: FIXTURE_DIR, revision: "fixture" };
  throw new Error(
    `unknown model ${JSON.stringify(name)}: give a diffusers checkpoint directory or ` +
      `"${DEFAULT_MODEL}"`,
  );
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
