/**
 * One model loader, in the spirit of diffusers' `from_pretrained`: a name (models.lock) or a
 * checkpoint folder in, everything sampling needs out (graphs and their ONNX Runtime
 * sessions, tokenizer, scheduler config, the checkpoint's sampling defaults). The engine and
 * the tasks load models only through {@linkcode loadModel}; names are resolved only by
 * core/models/registry.ts's `resolveModel`.
 *
 * @module
 */
import { join } from "node:path";
import type { SessionOptions } from "../onnx/mod.ts";
import { parseSchedulerConfig, type SchedulerConfig, SchedulerKind } from "../schedulers/mod.ts";
import { ClipTokenizer } from "../tokenizer/mod.ts";
import { loadDiffusersCheckpoint } from "./checkpoint.ts";
import { ModelRuntime } from "./model_runtime.ts";
import { resolveModel, type ResolveOptions } from "./registry.ts";
import { readSamplerDefaults } from "./sampler_defaults.ts";

/** Where a model's files are, and which revision they are. */
export interface ModelLocation {
  dir: string;
  revision: string;
}

/** Options of {@linkcode loadModel}. */
export interface LoadModelOptions extends ResolveOptions {
  /** ONNX Runtime session options of the model's sessions. */
  sessionOptions?: SessionOptions;
  /**
   * How the name becomes files; default the registry's `resolveModel` with these options
   * (the engine passes the resolver it was given).
   */
  resolve?: (name: string) => Promise<ModelLocation>;
}

/** A loaded model: graphs, sessions, tokenizer, scheduler config, sampling defaults. */
export interface LoadedModel {
  /** The name (or folder) asked for. */
  name: string;
  revision: string;
  /** The checkpoint folder. */
  dir: string;
  runtime: ModelRuntime;
  tokenizer: ClipTokenizer;
  schedulerConfig: SchedulerConfig;
  /** Guidance scale when a request names none (the checkpoint's, else 7.5). */
  defaultGuidance: number;
  /** The checkpoint's guidance_rescale (0: none). */
  defaultGuidanceRescale: number;
  /** The checkpoint's sampler (DDIM unless it names one). */
  defaultScheduler: SchedulerKind;
}

/**
 * Resolves and loads a model. Release its sessions with `model.runtime.release()`.
 *
 * @param nameOrDir A models.lock name, or (with `folders: true`, or a `resolve` that allows
 *   it) a checkpoint folder.
 * @param opts Resolution and session options.
 * @returns The loaded model.
 * @throws {ModelError} When the name does not resolve (see `resolveModel`).
 * @throws {Error} For a checkpoint that cannot be built, or an unknown default scheduler.
 * @example
 * ```ts
 * import { loadModel } from "./load_model.ts";
 * const m = await loadModel("tests/fixtures/diffusers-tiny-sd2", { folders: true });
 * console.assert(m.revision === "local" && m.runtime.graphs.info.maxLength > 0);
 * await m.runtime.release();
 * ```
 */
export async function loadModel(
  nameOrDir: string,
  opts: LoadModelOptions = {},
): Promise<LoadedModel> {
  const { resolve, sessionOptions, ...resolveOptions } = opts;
  const { dir, revision } = resolve
    ? await resolve(nameOrDir)
    : await resolveModel(nameOrDir, resolveOptions);
  const graphs = await loadDiffusersCheckpoint(dir);
  const tokenizer = await ClipTokenizer.fromDir(join(dir, "tokenizer"));
  const schedulerConfig = parseSchedulerConfig(
    JSON.parse(await Deno.readTextFile(join(dir, "scheduler", "scheduler_config.json"))),
  );
  const runtime = new ModelRuntime(graphs, sessionOptions ?? {});
  const defaults = await readSamplerDefaults(dir);
  const kinds = Object.values(SchedulerKind) as string[];
  if (defaults.scheduler !== undefined && !kinds.includes(defaults.scheduler)) {
    throw new Error(`${nameOrDir}: unknown default scheduler ${defaults.scheduler}`);
  }
  return {
    name: nameOrDir,
    revision,
    dir,
    runtime,
    tokenizer,
    schedulerConfig,
    defaultGuidance: defaults.guidance,
    defaultGuidanceRescale: defaults.guidanceRescale,
    defaultScheduler: (defaults.scheduler as SchedulerKind | undefined) ?? SchedulerKind.DDIM,
  };
}
