/**
 * The browser-safe part of core/models: the model calls over any host session (SdRuntime) and
 * the model description types (no files, Hub or onnxruntime-node).
 * @module
 */
export * from "./sd_runtime.ts";
export type * from "./types.ts";
