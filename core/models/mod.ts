/**
 * Models: Stable Diffusion 1.x/2.x graphs built from diffusers checkpoints (config.json +
 * safetensors, weights referenced in place), and the shared in-memory form
 * {@link SdGraphs}; where models come from (models.lock, the Hub, a mirror, and the one
 * resolver `resolveModel`), the one loader `loadModel(nameOrDir)`, weight initialisation and
 * sampler defaults. Other folders import models only through this file.
 *
 * @example
 * ```ts ignore
 * import { loadDiffusersCheckpoint } from "./mod.ts";
 * const sd = await loadDiffusersCheckpoint("tests/fixtures/diffusers-tiny-sd2");
 * console.log(sd.info.latentSize);
 * ```
 * @module
 */
export * from "./checkpoint.ts";
export * from "./clip_text.ts";
export * from "./config.ts";
export * from "./load_model.ts";
export * from "./model_runtime.ts";
export * from "./safetensors.ts";
export type * from "./types.ts";
export * from "./unet.ts";
export * from "./vae.ts";
export * from "./hub.ts";
export * from "./init.ts";
export * from "./lock.ts";
export * from "./mirror.ts";
export * from "./model_error.ts";
export * from "./model_files.ts";
export * from "./registry.ts";
export * from "./sampler_defaults.ts";
export * from "./sd_runtime.ts";
