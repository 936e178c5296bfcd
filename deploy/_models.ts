/**
 * `deploy:check`'s model checks: a manifest's default model must be one an instance can
 * actually load, or the instance never becomes ready (issue 15: a pending entry kept `/readyz`
 * at 503 forever while the check said OK). And the graph cache must sit on a persistent,
 * writable volume.
 *
 * @module
 */
import { join } from "node:path";
import { isPending, type ModelsLock, readModelsLock, resolveModel } from "../core/models/mod.ts";

/**
 * Hub repositories known to be deleted (404 since): the official Stable Diffusion 2.x ones
 * (November 2025) and the original SD 1.5 one. An entry pinned from them can never be fetched
 * again by an instance without the files.
 */
export const DELETED_REPOS: readonly string[] = [
  "stabilityai/stable-diffusion-2",
  "stabilityai/stable-diffusion-2-base",
  "stabilityai/stable-diffusion-2-1",
  "stabilityai/stable-diffusion-2-1-base",
  "runwayml/stable-diffusion-v1-5",
];

/** What a manifest's container gives the server to find its default model. */
export interface ModelEnv {
  /** DD_DEFAULT_MODEL (after defaults). */
  defaultModel: string;
  /** DD_MODEL_DIR (after defaults; empty when unset). */
  modelDir: string;
  /** The effective environment: the image's ENV overridden by the manifest's. */
  env: Record<string, string>;
  /** Models the Dockerfile bakes by default (its BAKE_MODELS build argument). */
  baked: readonly string[];
}

/**
 * Why a manifest's default model would not load, if it would not.
 *
 * @param root The repository root (its models.lock is read, or `lockPath`).
 * @param m The default model and how the instance would find it.
 * @param lockPath models.lock to use (default `<root>/models.lock`).
 * @returns One sentence per problem; empty when the model resolves.
 * @example
 * ```ts ignore
 * const why = await checkDefaultModel(root, { defaultModel: "x", modelDir: "", env: {}, baked: [] });
 * ```
 */
export async function checkDefaultModel(
  root: string,
  m: ModelEnv,
  lockPath = join(root, "models.lock"),
): Promise<string[]> {
  // A folder given with DD_MODEL_DIR is the operator's; nothing here can check it.
  if (m.modelDir !== "") return [];
  const name = m.defaultModel;
  const say = (why: string) => [`DD_DEFAULT_MODEL ${name}: ${why}; /readyz would stay 503`];
  let lock: ModelsLock;
  try {
    lock = await readModelsLock(lockPath);
  } catch (e) {
    return say(`models.lock unreadable (${(e as Error).message})`);
  }
  const entry = Object.hasOwn(lock.models, name) ? lock.models[name]! : undefined;
  if (entry === undefined) return say("not in models.lock (unknown model)");
  if (isPending(entry)) {
    return say(
      `pending in models.lock (no revision or hashes); pin it with \`deno task models:lock ` +
        `${name}\` where the Hub is reachable, or serve a pinned model`,
    );
  }
  if (entry.format !== "diffusers") {
    return say(`a ${entry.format} model; the server loads diffusers`);
  }
  const source = entry.source;
  if ("repo" in source) {
    if (DELETED_REPOS.includes(source.repo)) {
      return say(`its files come from ${source.repo}, which was deleted from the Hub`);
    }
    const mirror = (m.env.DD_MODEL_MIRROR ?? "").trim() !== "";
    const offline = /^(1|true|yes|on)$/i.test(m.env.HF_HUB_OFFLINE ?? "");
    if (offline && !mirror && !m.baked.includes(name)) {
      return say("HF_HUB_OFFLINE is set, no DD_MODEL_MIRROR, and the image does not bake it");
    }
    return [];
  }
  try {
    await resolveModel(name, { lock, lockPath, root, offline: true, mirror: null });
  } catch (e) {
    return say(`unresolvable: ${(e as Error).message}`);
  }
  return [];
}

/**
 * Why a manifest's DD_CACHE_DIR is not on a persistent, writable volume, if it is not.
 *
 * @param cacheDir DD_CACHE_DIR as the container gets it ("" when unset).
 * @param mounts The container's volumeMounts (mountPath, readOnly).
 * @returns One sentence per problem.
 * @example
 * ```ts
 * import { checkCacheDir } from "./_models.ts";
 * console.assert(checkCacheDir("/cache", [{ mountPath: "/cache", readOnly: false }]).length === 0);
 * ```
 */
export function checkCacheDir(
  cacheDir: string,
  mounts: readonly { mountPath: string; readOnly: boolean }[],
): string[] {
  const why = "so instances do not rebuild the train graphs at every cold start";
  if (cacheDir === "") return [`DD_CACHE_DIR is not set: put it on a persistent volume, ${why}`];
  const under = mounts.filter((v) =>
    cacheDir === v.mountPath || cacheDir.startsWith(`${v.mountPath.replace(/\/+$/, "")}/`)
  );
  if (under.length === 0) {
    return [`DD_CACHE_DIR ${cacheDir} is not on a mounted volume (container file system), ${why}`];
  }
  if (under.every((v) => v.readOnly)) return [`DD_CACHE_DIR ${cacheDir} is on a read-only volume`];
  return [];
}
