/**
 * The product's operations over a store and models, shared by tasks and HTTP functions;
 * {@linkcode WorkerEngine} runs the model work of an {@linkcode Engine} in a Web Worker.
 *
 * This module is the one door of the front ends into core: besides the engine, its request
 * rules (requests.ts) and its errors, it re-exports the few names of the layers below that a
 * front end's requests and responses are made of (manifests, training options and progress,
 * image encoding and limits, stores and their errors, models.lock and mirrors, textual
 * inversion files), so `functions/` imports nothing else from core.
 *
 * @module
 */
export * from "./engine.ts";
export * from "./requests.ts";
export * from "./budget.ts";
export * from "./worker_engine.ts";
export * from "./worker_host.ts";
export * from "./preview.ts";
export * from "./browser_model.ts";

// What requests and responses are made of, from the layers below.
export { type Manifest, manifestSchema } from "../artifacts/mod.ts";
export {
  checkpointBody,
  parseCheckpointBody,
  SAMPLER_KINDS,
  type SamplerKind,
  type TrainCheckpoint,
  type TrainOptions,
  TrainOptionsSchema,
  type TrainProgress,
} from "../distribution/mod.ts";
export { textualInversionFiles, TI_NAME } from "../export/mod.ts";
export { encodePng, ImageError, probeImage, type RgbImage, sha256Hex } from "../images/mod.ts";
export {
  DEFAULT_LOCK_PATH,
  isPending,
  ModelError,
  openMirror,
  readModelsLock,
  resolveModel,
} from "../models/mod.ts";
export { SchedulerKind } from "../schedulers/mod.ts";
export { FsStore, openStore, type Store, StoreError } from "../store/mod.ts";
