/**
 * Model sessions and the text-to-image pipeline.
 * @module
 */
export * from "./model_runtime.ts";
export * from "./txt2img.ts";
