/**
 * Artifacts: learned distributions saved in a store (manifest + safetensors, written manifest
 * last, read with sha256 verification) and the safetensors encoding they use.
 *
 * @example
 * ```ts
 * import { listDistributions } from "./mod.ts";
 * import { FsStore } from "../store/mod.ts";
 * const dir = await Deno.makeTempDir();
 * console.assert((await listDistributions(new FsStore(dir))).length === 0);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */
export * from "./safetensors_write.ts";
export * from "./distribution_artifact.ts";
