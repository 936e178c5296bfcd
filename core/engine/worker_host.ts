/**
 * The worker side of {@linkcode WorkerEngine} (worker_engine.ts): inside a Web Worker,
 * {@linkcode serveEngine} builds an {@linkcode Engine} from the serialisable `init` the main
 * thread sends, then runs each call (train, sample, embeddings, model) it receives, sending
 * back progress, checkpoints (acknowledged before training goes on), and the result or the
 * error. Aborting sets the call's shared `abortFlag` (and sends `abort`): the flag is read at
 * every progress report, because a training loop whose model calls resolve at once never
 * yields to the worker's message queue; training and sampling stop before their next step.
 *
 * The protocol, main → worker: `init`, `call`, `abort`, `ack`; worker → main: `progress`,
 * `checkpoint`, `preview`, `result`, `error`. Errors cross as {@linkcode WireError} and are rebuilt as the
 * same core error classes on the other side.
 *
 * @example
 * ```ts ignore
 * // my_worker.ts, started by new WorkerEngine({ workerUrl: new URL("./my_worker.ts", ...) })
 * serveEngine((init) => Promise.resolve(new Engine(optionsFrom(init))));
 * ```
 *
 * @module
 */
import { CodedError } from "../errors.ts";
import { ImageError } from "../images/mod.ts";
import { ModelError } from "../models/mod.ts";
import { StoreError } from "../store/mod.ts";
import { type Engine, EngineError } from "./engine.ts";
import type { PreviewOptions } from "./preview.ts";

/** The operations run in the worker. */
export type WorkerOp = "train" | "sample" | "embeddings" | "model";

/** An error as it crosses the worker boundary. */
export interface WireError {
  name: string;
  message: string;
  code?: string;
}

/** Messages to the worker. */
export type ToWorker =
  | { type: "init"; init: unknown }
  | {
    type: "call";
    id: number;
    op: WorkerOp;
    args: unknown[];
    checkpoints: boolean;
    /** Int32Array(1) over shared memory: set to 1 by the main thread to abort. */
    abortFlag: Int32Array;
  }
  | { type: "abort"; id: number }
  | { type: "ack"; id: number; error?: WireError };

/** Messages from the worker. */
export type FromWorker =
  | { type: "progress"; id: number; value: unknown[] }
  | { type: "checkpoint"; id: number; value: unknown }
  | { type: "preview"; id: number; value: unknown }
  | { type: "result"; id: number; value: unknown }
  | { type: "error"; id: number; error: WireError };

/**
 * An error as sent across the boundary.
 *
 * @param e What was thrown.
 * @returns Its name, message and, for core's coded errors, code.
 */
export function toWire(e: unknown): WireError {
  if (!(e instanceof Error)) return { name: "Error", message: String(e) };
  const w: WireError = { name: e.name, message: e.message };
  if (e instanceof CodedError) w.code = e.code;
  return w;
}

/**
 * The error a {@linkcode WireError} describes, as the core class it came from (so that
 * functions/errors.ts maps it to the same HTTP status).
 */
export function fromWire(w: WireError): Error {
  const code = w.code as never;
  switch (w.name) {
    case "EngineError":
      return new EngineError(w.code ?? "invalid_request", w.message);
    case "ImageError":
      return new ImageError(code, w.message);
    case "ModelError":
      return new ModelError(code, w.message);
    case "StoreError":
      return new StoreError(code, w.message);
  }
  const e = new Error(w.message);
  e.name = w.name;
  return e;
}

const aborted = () => new DOMException("the call was aborted", "AbortError");

type Post = (m: FromWorker, transfer?: Transferable[]) => void;

/**
 * Serves an engine to the main thread; call once, at the top of a worker module.
 *
 * @param make Builds the engine from the main thread's `init`.
 */
export function serveEngine(make: (init: unknown) => Promise<Engine>): void {
  const scope = self as unknown as {
    postMessage: Post;
    onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  };
  const post: Post = (m, transfer = []) => scope.postMessage(m, transfer);
  let engine: Promise<Engine> | null = null;
  const calls = new Map<number, AbortController>();
  const acks = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();

  const run = async (m: Extract<ToWorker, { type: "call" }>, e: Engine) => {
    const ctl = new AbortController();
    calls.set(m.id, ctl);
    const signal = ctl.signal;
    const checkAbort = () => {
      if (Atomics.load(m.abortFlag, 0) !== 0 && !signal.aborted) ctl.abort(aborted());
    };
    try {
      let value: unknown;
      let transfer: Transferable[] = [];
      if (m.op === "model") {
        const model = await e.model(m.args[0] as string | undefined);
        value = { name: model.name, revision: model.revision };
      } else if (m.op === "train") {
        const [req, hooks, preview] = m.args as [
          Parameters<Engine["train"]>[0],
          { resume?: never },
          Omit<PreviewOptions, "onPreview"> | undefined,
        ];
        // A preview, like a checkpoint, is acknowledged before training goes on.
        const acked = (type: "checkpoint" | "preview", value: unknown) =>
          new Promise<void>((resolve, reject) => {
            acks.set(m.id, { resolve, reject });
            post({ type, id: m.id, value });
          });
        value = await e.train(req, {
          ...hooks,
          ...(preview ? { preview: { ...preview, onPreview: (p) => acked("preview", p) } } : {}),
          signal,
          onProgress: (p) => {
            post({ type: "progress", id: m.id, value: [p] });
            checkAbort();
          },
          ...(m.checkpoints
            ? {
              onCheckpoint: (c) => acked("checkpoint", c),
            }
            : {}),
        });
      } else if (m.op === "sample") {
        const images = await e.sample(m.args[0] as Parameters<Engine["sample"]>[0], {
          signal,
          onProgress: (done, total) => {
            post({ type: "progress", id: m.id, value: [done, total] });
            checkAbort();
          },
        });
        value = images;
        transfer = images.map((i) => i.data.buffer as ArrayBuffer);
      } else {
        const bytes = await e.embeddings(m.args[0] as Parameters<Engine["embeddings"]>[0]);
        value = bytes;
        transfer = [bytes.buffer as ArrayBuffer];
      }
      post({ type: "result", id: m.id, value }, transfer);
    } catch (err) {
      post({ type: "error", id: m.id, error: toWire(err) });
    } finally {
      calls.delete(m.id);
    }
  };

  scope.onmessage = (ev) => {
    const m = ev.data;
    if (m.type === "init") {
      engine = make(m.init);
      engine.catch(() => {});
    } else if (m.type === "call") {
      if (engine === null) {
        post({ type: "error", id: m.id, error: { name: "Error", message: "worker not started" } });
        return;
      }
      engine.then((e) => run(m, e), (err) => post({ type: "error", id: m.id, error: toWire(err) }));
    } else if (m.type === "abort") {
      calls.get(m.id)?.abort(aborted());
    } else if (m.type === "ack") {
      const a = acks.get(m.id);
      acks.delete(m.id);
      if (m.error) a?.reject(fromWire(m.error));
      else a?.resolve();
    }
  };
}
