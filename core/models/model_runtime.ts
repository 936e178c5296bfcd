/**
 * {@linkcode SdRuntime} over onnxruntime-node: one set of sessions per model, created lazily
 * from the graphs built in memory (core/onnx/runtime.ts's `Session`).
 *
 * @module
 */
import type { SdGraphs } from "./types.ts";
import { Session, type SessionOptions } from "../onnx/mod.ts";
import { type Component, COMPONENTS, SdRuntime } from "./sd_runtime.ts";

/**
 * Sessions of one model's components, on onnxruntime-node.
 * @example
 * ```ts ignore
 * const rt = new ModelRuntime(await loadDiffusersCheckpoint(dir));
 * const features = await rt.encodeIds(ids, 1);
 * ```
 */
export class ModelRuntime extends SdRuntime {
  constructor(readonly graphs: SdGraphs, readonly options: SessionOptions = {}) {
    super(
      graphs.info,
      new Set(COMPONENTS.filter((c) => graphs[c])),
      (c: Component) => Session.create(graphs[c]!, options),
    );
  }
}
