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
export { type Manifest, manifestSchema } from "../artifacts/distribution_artifact.ts";
export { SAMPLER_KINDS, type SamplerKind } from "../distribution/prompt_distribution.ts";
export type { TrainCheckpoint, TrainProgress } from "../distribution/train.ts";
export { checkpointBody, parseCheckpointBody } from "../distribution/checkpoint.ts";
export { type TrainOptions, TrainOptionsSchema } from "../distribution/train_options.ts";
export { textualInversionFiles, TI_NAME } from "../export/textual_inversion.ts";
export { encodePng } from "../images/encode.ts";
export type { RgbImage } from "../images/types.ts";
export { sha256Hex } from "../images/hash.ts";
export { ImageError } from "../images/image_error.ts";
export { probeImage } from "../images/probe.ts";
export { isPending, readModelsLock } from "../models/lock.ts";
export { openMirror } from "../models/mirror.ts";
export { ModelError } from "../models/model_error.ts";
export { DEFAULT_LOCK_PATH, resolveModel } from "../models/registry.ts";
export { SchedulerKind } from "../schedulers/scheduler.ts";
export { FsStore } from "../store/fs_store.ts";
export { openStore } from "../store/open.ts";
export { type Store, StoreError } from "../store/store.ts";
