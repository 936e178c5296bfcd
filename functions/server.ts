/**
 * `deno task serve`: the API on `HOST:PORT` (127.0.0.1 unless API keys are set or
 * `DD_ALLOW_UNAUTHENTICATED_PUBLIC=1`) with a store at `DD_STORE` (a folder, `file://` or
 * `s3://` URL) and the default model loaded in the background (`/readyz` turns 200 when it
 * is). Model work runs in a Web Worker (functions/engine_worker.ts; `DD_MODEL_WORKER=0` keeps
 * it on this thread), so health probes, cancellations and signals are answered during a
 * training. SIGTERM / SIGINT shut down gracefully: not ready, no new connections, in-flight
 * requests and jobs get `DD_SHUTDOWN_GRACE_MS` to finish, then are cancelled at their next
 * step (jobs recorded as failed), then the worker is stopped. At start-up (and one lease
 * later) a folder store's stray temp files are removed (functions/lib/recovery.ts).
 *
 * Models come from models.lock (core/models/registry.ts: verified, fetched from the Hub on
 * first use); the ones offered are its pinned diffusers entries. `DD_MODEL_DIR` serves a local
 * diffusers folder as the default model instead (revision `local`); `DD_MODEL_MIRROR` (an
 * `s3://` prefix or a folder, core/models/mirror.ts) is read before the Hub. The default model is
 * the embedded `dd-world-tiny` (shipped in the repo, so the server starts offline).
 *
 * @example
 * ```ts ignore
 * const running = await startServer({ config: parseConfig({ PORT: "0", HOST: "127.0.0.1" }) });
 * await running.shutdown();
 * ```
 *
 * @module
 */
import { resolve } from "node:path";
import {
  DEFAULT_LOCK_PATH,
  Engine,
  type EngineApi,
  type EngineOptions,
  isPending,
  ModelError,
  openMirror,
  openStore,
  readModelsLock,
  type ResolvedModel,
  resolveModel as resolveLocked,
  WorkerEngine,
} from "../core/engine/mod.ts";
import { type AppOptions, createApp, resolveDeps } from "./app.ts";
import { type Config, parseConfig } from "./config.ts";
import { sweepTempFiles } from "./lib/recovery.ts";
import type { AppDeps, ModelInfo } from "./env.ts";

/** A running server. */
export interface RunningServer {
  /** Where it listens. */
  addr: Deno.NetAddr;
  deps: AppDeps;
  /** Stops gracefully (see the module doc); resolves when everything is released. */
  shutdown(): Promise<void>;
  /** Resolves when the server has stopped. */
  finished: Promise<void>;
}

/** Options of {@linkcode startServer}. */
export interface StartOptions extends Partial<Omit<AppOptions, "engine" | "shutdownSignal">> {
  config: Config;
  /**
   * An engine to serve (default: one over `config.store` and `config.modelDir`, its model work
   * in a worker unless `config.modelWorker` is false).
   */
  engine?: EngineApi;
  /** Start loading the default model at once (default true). */
  warmUp?: boolean;
}

/**
 * How the server finds a model's files: `DD_MODEL_DIR` for the default, else models.lock, with
 * files missing from the Hugging Face cache read from `DD_MODEL_MIRROR` first, then the Hub.
 *
 * @param config The configuration.
 * @param env The environment for the mirror's S3 credentials (default: the process's).
 * @returns The resolver.
 * @throws {ModelError} `invalid` when the mirror cannot be opened (bad URL, no S3 keys).
 */
export function modelResolver(
  config: Config,
  env: Record<string, string> = Deno.env.toObject(),
): (name: string) => Promise<ResolvedModel> {
  const local = config.modelDir ? resolve(config.modelDir) : null;
  const mirror = config.modelMirror ? openMirror(config.modelMirror, env) : null;
  return async (name) => {
    if (local !== null && name === config.defaultModel) return { dir: local, revision: "local" };
    const m = await resolveLocked(name, { mirror });
    if (m.format !== "diffusers") {
      throw new ModelError("invalid", `model ${name} is ${m.format}; the server loads diffusers`);
    }
    return { dir: m.dir, revision: m.revision };
  };
}

/** The models offered: the default, then every pinned diffusers entry of models.lock. */
export async function offeredModels(config: Config): Promise<ModelInfo[]> {
  const lock = await readModelsLock(DEFAULT_LOCK_PATH);
  const names = Object.entries(lock.models)
    .filter(([, e]) => !isPending(e) && e.format === "diffusers")
    .map(([name]) => name);
  return [config.defaultModel, ...names.filter((n) => n !== config.defaultModel)]
    .map((name) => ({ name, default: name === config.defaultModel }));
}

/** The engine a configuration describes. */
export async function engineFromConfig(config: Config): Promise<Engine> {
  const options: EngineOptions = {
    store: await openStore(config.store),
    defaultModel: config.defaultModel,
    resolveModel: modelResolver(config),
    cacheDir: config.cacheDir || null,
    sessionOptions: { provider: config.executionProvider },
    imageLimits: { maxPixels: config.limits.maxImagePixels },
  };
  return new Engine(options);
}

/** The engine `deno task serve` runs: model work in functions/engine_worker.ts by default. */
export async function servedEngine(config: Config): Promise<EngineApi> {
  const local = await engineFromConfig(config);
  if (!config.modelWorker) return local;
  return new WorkerEngine({
    workerUrl: new URL("./engine_worker.ts", import.meta.url),
    init: config,
    local,
  });
}

/**
 * Starts serving.
 *
 * @param options Configuration, and optionally the engine and app overrides.
 * @returns The running server.
 */
export async function startServer(options: StartOptions): Promise<RunningServer> {
  const { config, warmUp = true, ...rest } = options;
  const engine = options.engine ?? await servedEngine(config);
  const stopping = new AbortController();
  const models = rest.models ?? (options.engine ? undefined : () => offeredModels(config));
  const deps = resolveDeps({
    ...rest,
    engine,
    config,
    shutdownSignal: stopping.signal,
    ...(models ? { models } : {}),
  });
  const app = createApp(deps);
  let onListen!: (addr: Deno.NetAddr) => void;
  const listening = new Promise<Deno.NetAddr>((r) => (onListen = r));
  const server = Deno.serve({
    port: config.port,
    hostname: config.host,
    onListen: (addr) => onListen(addr as Deno.NetAddr),
  }, app.fetch);
  const addr = await listening;
  deps.log("info", "listening", { host: addr.hostname, port: addr.port, store: deps.store.url });
  // Temp files of a killed predecessor: those older than a lease now, the rest one lease later
  // (younger ones may belong to another instance's write in flight).
  const sweep = () =>
    void sweepTempFiles(deps.store, config.leaseMs).then((paths) => {
      if (paths.length > 0) deps.log("info", "removed stray temp files", { count: paths.length });
    }, (e) => deps.log("warn", "temp file sweep failed", { error: String(e) }));
  sweep();
  const sweepAgain = setTimeout(sweep, config.leaseMs + 100);
  Deno.unrefTimer(sweepAgain);
  if (warmUp) void deps.readiness.start();
  let stopped: Promise<void> | null = null;
  const shutdown = () =>
    stopped ??= (async () => {
      deps.log("info", "shutting down", { graceMs: config.shutdownGraceMs });
      deps.readiness.stop();
      clearTimeout(sweepAgain);
      const timer = setTimeout(() => stopping.abort(), config.shutdownGraceMs);
      await Promise.all([server.shutdown(), deps.jobs.shutdown(config.shutdownGraceMs)]);
      clearTimeout(timer);
      await engine.close();
      deps.log("info", "stopped");
    })();
  return { addr, deps, shutdown, finished: server.finished };
}

const HELP = `usage: deno task serve

The HTTP API (functions/README.md). It takes no arguments: configure it with environment
variables (the table in functions/README.md), for example

  PORT=8000 DD_STORE=./.data deno task serve
  HOST=0.0.0.0 DD_API_KEYS=key1,key2 DD_STORE=s3://bucket/prefix deno task serve

It binds to 127.0.0.1 unless DD_API_KEYS or DD_ALLOW_UNAUTHENTICATED_PUBLIC=1 is set; SIGTERM or
SIGINT drain it (DD_SHUTDOWN_GRACE_MS).`;

/** Where {@linkcode main} writes its lines (the console by default). */
export interface ServeIo {
  out?: (line: string) => void;
  err?: (line: string) => void;
}

/**
 * `deno task serve`: `--help` prints the usage (exit 0), any other argument is refused (exit 1),
 * none starts the server until SIGTERM or SIGINT.
 */
export async function main(args: string[], io: ServeIo = {}): Promise<number> {
  const out = io.out ?? ((l: string) => console.log(l));
  const err = io.err ?? ((l: string) => console.error(l));
  if (args.includes("--help") || args.includes("-h")) {
    out(HELP);
    return 0;
  }
  if (args.length > 0) {
    err(
      `error: serve takes no arguments, got ${args.join(" ")} (configure it with environment ` +
        "variables; deno task serve --help)",
    );
    return 1;
  }
  const running = await startServer({ config: parseConfig(Deno.env.toObject()) });
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(sig, () => void running.shutdown().then(() => Deno.exit(0)));
  }
  await running.finished;
  return 0;
}

if (import.meta.main) {
  const code = await main(Deno.args);
  if (code !== 0) Deno.exit(code);
}
