/**
 * The browser-safe part of core/artifacts (no Node APIs): reading safetensors. The in-browser
 * sampler (core/browser) imports this folder only through this door.
 * @module
 */
export { readSafetensors } from "./safetensors_write.ts";
