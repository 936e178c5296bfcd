/**
 * The engine with its model work off the calling thread. ONNX Runtime runs each model call
 * synchronously on the thread that calls it, so an HTTP server training on its main thread
 * answers nothing (health probes, cancellations, disconnects, SIGTERM) until the call ends.
 * {@linkcode WorkerEngine} runs train, sample, embeddings and model loading in a Web Worker
 * (onnxruntime-node loads there under `deno run -A`), and store reads (get, list, delete) on
 * the calling thread.
 *
 * - Progress and checkpoints come back as messages; a checkpoint is acknowledged (after the
 *   caller's `onCheckpoint` ran) before training goes on.
 * - An aborted signal sets the call's shared abort flag: the worker stops before its next
 *   step (it reads the flag at every progress report), and the call
 *   rejects with the signal's reason once the worker has stopped (so a queue slot is freed only
 *   when the model is free).
 * - A worker still busy `abortGraceMs` after an abort (setting up a training: loading the
 *   model, building its graph) is terminated when no other call runs in it; the next call
 *   starts a new worker, which loads the model again.
 * - If the worker dies, every pending call rejects and the next call starts a new worker.
 *
 * @example
 * ```ts ignore
 * const engine = new WorkerEngine({
 *   workerUrl: workerModule, // a module URL; the module calls serveEngine(...)
 *   init: config,
 *   local: new Engine(options), // store reads
 * });
 * const manifest = await engine.train({ images, options: {} }, { signal });
 * await engine.close();
 * ```
 *
 * @module
 */
import type { DistributionTensors, Manifest } from "../artifacts/mod.ts";
import type { SampleOptions, TrainCheckpoint, TrainHooks } from "../distribution/mod.ts";
import type { RgbImage } from "../images/mod.ts";
import type { EmbeddingsRequest, Engine, EngineOptions, SampleRequest } from "./engine.ts";
import type { Preview, PreviewOptions } from "./preview.ts";
import { fromWire, type FromWorker, toWire, type ToWorker, type WorkerOp } from "./worker_host.ts";

/** What the HTTP functions need of an engine: {@linkcode Engine} and {@linkcode WorkerEngine}. */
export interface EngineApi {
  readonly options: Pick<EngineOptions, "store" | "defaultModel">;
  /** Loads a model (once); resolves when its sessions are ready. */
  model(name?: string): Promise<unknown>;
  train(
    req: Parameters<Engine["train"]>[0],
    hooks?: TrainHooks & { preview?: PreviewOptions },
  ): Promise<Manifest>;
  sample(
    req: SampleRequest,
    hooks?: Pick<SampleOptions, "onProgress" | "signal">,
  ): Promise<RgbImage[]>;
  embeddings(req: EmbeddingsRequest, hooks?: { signal?: AbortSignal }): Promise<Uint8Array>;
  get(id: string): Promise<{ manifest: Manifest; tensors: DistributionTensors }>;
  list(opts?: { limit?: number; after?: string }): Promise<string[]>;
  page: Engine["page"];
  manifest: Engine["manifest"];
  storeSamples: Engine["storeSamples"];
  /** Estimated peak bytes of a training (budget.ts), from the options and model files. */
  trainBudgetBytes: Engine["trainBudgetBytes"];
  /** Estimated peak bytes of a sampling request (budget.ts). */
  sampleBudgetBytes: Engine["sampleBudgetBytes"];
  delete(id: string): Promise<void>;
  /** A model packed for the in-browser sampler (browser_model.ts). */
  browserModel: Engine["browserModel"];
  /** A distribution's parameters as safetensors (browser_model.ts). */
  parameters: Engine["parameters"];
  close(): Promise<void>;
}

/** Settings of a {@linkcode WorkerEngine}. */
export interface WorkerEngineOptions {
  /** A module that calls `serveEngine` (worker_host.ts). */
  workerUrl: URL;
  /** Sent to the worker's engine factory (structured-cloneable). */
  init: unknown;
  /** An engine over the same store, for the store reads (no model is loaded by them). */
  local: Engine;
  /**
   * After an abort, how long the worker may take to stop by itself (it checks at every step)
   * before it is terminated and replaced, when no other call is running in it (default 500).
   */
  abortGraceMs?: number;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  onProgress?: (...args: never[]) => void;
  onCheckpoint?: (c: TrainCheckpoint) => Promise<void> | void;
  onPreview?: (p: Preview) => Promise<void> | void;
  /** Whether the caller aborted the call. */
  aborted: () => boolean;
}

/** An engine whose model work runs in a Web Worker. */
export class WorkerEngine implements EngineApi {
  #worker: Worker | null = null;
  #pending = new Map<number, Pending>();
  #next = 1;
  #closed = false;

  constructor(private readonly wo: WorkerEngineOptions) {}

  get options(): Pick<EngineOptions, "store" | "defaultModel"> {
    return this.wo.local.options;
  }

  /** @inheritdoc */
  model(name?: string): Promise<unknown> {
    return this.#call("model", [name]);
  }

  /** @inheritdoc */
  train(
    req: Parameters<Engine["train"]>[0],
    hooks: TrainHooks & { preview?: PreviewOptions } = {},
  ): Promise<Manifest> {
    const { signal, onProgress, onCheckpoint, preview, ...rest } = hooks;
    const { onPreview, ...previewOptions } = preview ?? { onPreview: undefined };
    return this.#call("train", [req, rest, preview ? previewOptions : undefined], {
      ...(signal ? { signal } : {}),
      ...(onProgress ? { onProgress } : {}),
      ...(onCheckpoint ? { onCheckpoint } : {}),
      ...(onPreview ? { onPreview } : {}),
    }) as Promise<Manifest>;
  }

  /** @inheritdoc */
  sample(
    req: SampleRequest,
    hooks: Pick<SampleOptions, "onProgress" | "signal"> = {},
  ): Promise<RgbImage[]> {
    return this.#call("sample", [req], hooks) as Promise<RgbImage[]>;
  }

  /** @inheritdoc */
  embeddings(req: EmbeddingsRequest, hooks: { signal?: AbortSignal } = {}): Promise<Uint8Array> {
    return this.#call("embeddings", [req], hooks) as Promise<Uint8Array>;
  }

  /** @inheritdoc */
  get(id: string): Promise<{ manifest: Manifest; tensors: DistributionTensors }> {
    return this.wo.local.get(id);
  }

  /** @inheritdoc */
  list(opts?: { limit?: number; after?: string }): Promise<string[]> {
    return this.wo.local.list(opts);
  }

  /** A page of manifests (local store reads). */
  page(...args: Parameters<Engine["page"]>): ReturnType<Engine["page"]> {
    return this.wo.local.page(...args);
  }

  /** Stores sampled PNGs (local store writes). */
  storeSamples(...args: Parameters<Engine["storeSamples"]>): ReturnType<Engine["storeSamples"]> {
    return this.wo.local.storeSamples(...args);
  }

  /** A manifest alone (local store read). */
  manifest(id: string): ReturnType<Engine["manifest"]> {
    return this.wo.local.manifest(id);
  }

  /** Budgets read only config files: answered on the calling thread, before any model work. */
  trainBudgetBytes(...args: Parameters<Engine["trainBudgetBytes"]>): Promise<number> {
    return this.wo.local.trainBudgetBytes(...args);
  }

  sampleBudgetBytes(...args: Parameters<Engine["sampleBudgetBytes"]>): Promise<number> {
    return this.wo.local.sampleBudgetBytes(...args);
  }

  /** @inheritdoc */
  /** Packed on this thread: it reads the model's files and builds graphs, runs nothing. */
  browserModel(name?: string): ReturnType<Engine["browserModel"]> {
    return this.wo.local.browserModel(name);
  }

  parameters(id: string): Promise<Uint8Array> {
    return this.wo.local.parameters(id);
  }

  delete(id: string): Promise<void> {
    return this.wo.local.delete(id);
  }

  /** Stops the worker (pending calls reject) and releases the local engine. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#stop(new Error("the engine was closed"));
    await this.wo.local.close();
  }

  #call(
    op: WorkerOp,
    args: unknown[],
    hooks: {
      signal?: AbortSignal;
      onProgress?: (...a: never[]) => void;
      onCheckpoint?: (c: TrainCheckpoint) => Promise<void> | void;
      onPreview?: (p: Preview) => Promise<void> | void;
    } = {},
  ): Promise<unknown> {
    if (this.#closed) return Promise.reject(new Error("the engine was closed"));
    const { signal } = hooks;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const worker = this.#start();
    const id = this.#next++;
    const abortFlag = new Int32Array(new SharedArrayBuffer(4));
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        Atomics.store(abortFlag, 0, 1);
        worker.postMessage({ type: "abort", id } satisfies ToWorker);
        const timer = setTimeout(() => this.#stopIfAllAborted(id), this.wo.abortGraceMs ?? 500);
        Deno.unrefTimer(timer);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      const settle = (f: () => void) => {
        signal?.removeEventListener("abort", onAbort);
        this.#pending.delete(id);
        f();
      };
      this.#pending.set(id, {
        // After an abort the caller sees the abort's reason, whatever the worker said.
        resolve: (v) => settle(() => (signal?.aborted ? reject(signal.reason) : resolve(v))),
        reject: (e) => settle(() => reject(signal?.aborted ? signal.reason : e)),
        ...(hooks.onProgress ? { onProgress: hooks.onProgress } : {}),
        ...(hooks.onCheckpoint ? { onCheckpoint: hooks.onCheckpoint } : {}),
        ...(hooks.onPreview ? { onPreview: hooks.onPreview } : {}),
        aborted: () => signal?.aborted ?? false,
      });
      const checkpoints = hooks.onCheckpoint !== undefined;
      worker.postMessage({ type: "call", id, op, args, checkpoints, abortFlag } satisfies ToWorker);
    });
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(this.wo.workerUrl, { type: "module" });
    worker.onmessage = (e: MessageEvent<FromWorker>) => this.#receive(worker, e.data);
    worker.onerror = (e) => {
      e.preventDefault();
      this.#stop(new Error(`the model worker failed: ${e.message}`));
    };
    worker.onmessageerror = () =>
      this.#stop(new Error("the model worker sent an unreadable message"));
    worker.postMessage({ type: "init", init: this.wo.init } satisfies ToWorker);
    this.#worker = worker;
    return worker;
  }

  #receive(worker: Worker, m: FromWorker): void {
    const p = this.#pending.get(m.id);
    if (!p) return;
    if (m.type === "result") p.resolve(m.value);
    else if (m.type === "error") p.reject(fromWire(m.error));
    else if (m.type === "progress") {
      try {
        (p.onProgress as ((...a: unknown[]) => void) | undefined)?.(...m.value);
      } catch { /* a progress listener's failure is not the training's */ }
    } else if (m.type === "checkpoint" || m.type === "preview") {
      Promise.resolve()
        .then(() =>
          m.type === "checkpoint"
            ? p.onCheckpoint?.(m.value as TrainCheckpoint)
            : p.onPreview?.(m.value as Preview)
        )
        .then(
          () => worker.postMessage({ type: "ack", id: m.id } satisfies ToWorker),
          (e) => worker.postMessage({ type: "ack", id: m.id, error: toWire(e) } satisfies ToWorker),
        );
    }
  }

  /**
   * A call aborted a while ago is still running (a model load or a graph build, which have no
   * steps to stop at): when every call in the worker was aborted, the worker is terminated
   * (each call rejects with its signal's reason) and the next call starts a new one.
   */
  #stopIfAllAborted(id: number): void {
    if (!this.#pending.has(id)) return;
    if ([...this.#pending.values()].every((p) => p.aborted())) {
      this.#stop(new Error("the model worker was stopped"));
    }
  }

  /** Terminates the worker; pending calls reject with `why`. */
  #stop(why: Error): void {
    this.#worker?.terminate();
    this.#worker = null;
    for (const p of [...this.#pending.values()]) p.reject(why);
  }
}
