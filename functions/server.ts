/**
 * `deno task serve`: the API on `HOST:PORT` with a store at `DD_STORE` (a folder, `file://`
 * or `s3://` URL) and the default model loaded in the background (`/readyz` turns 200 when it
 * is). SIGTERM / SIGINT shut down gracefully: not ready, no new connections, in-flight
 * requests and jobs get `DD_SHUTDOWN_GRACE_MS` to finish, then are cancelled (jobs recorded
 * as failed), then the model sessions are released.
 *
 * Until the models.lock registry is wired in, the default model is the folder at
 * `DD_MODEL_DIR` (default: the tiny random test model) and no other model is offered.
 *
 * @example
 * ```ts ignore
 * const running = await startServer({ config: parseConfig({ PORT: "0", HOST: "127.0.0.1" }) });
 * await running.shutdown();
 * ```
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { Engine, type EngineOptions } from "../core/engine/engine.ts";
import { openStore } from "../core/store/open.ts";
import { type AppOptions, createApp, resolveDeps } from "./app.ts";
import { type Config, parseConfig } from "./config.ts";
import type { AppDeps } from "./env.ts";

const FIXTURE_MODEL = fileURLToPath(
  new URL("../tests/fixtures/diffusers-tiny-sd2", import.meta.url),
);

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
  /** An engine to serve (default: one over `config.store` and `config.modelDir`). */
  engine?: Engine;
  /** Start loading the default model at once (default true). */
  warmUp?: boolean;
}

/** The engine a configuration describes. */
export async function engineFromConfig(config: Config): Promise<Engine> {
  const dir = config.modelDir || FIXTURE_MODEL;
  const revision = config.modelDir ? "local" : "fixture";
  const options: EngineOptions = {
    store: await openStore(config.store),
    defaultModel: config.defaultModel,
    resolveModel: (name) =>
      name === config.defaultModel
        ? Promise.resolve({ dir, revision })
        : Promise.reject(new Error(`model ${name} is not offered`)),
    cacheDir: config.cacheDir || null,
    imageLimits: { maxPixels: config.limits.maxImagePixels },
  };
  return new Engine(options);
}

/**
 * Starts serving.
 *
 * @param options Configuration, and optionally the engine and app overrides.
 * @returns The running server.
 */
export async function startServer(options: StartOptions): Promise<RunningServer> {
  const { config, warmUp = true, ...rest } = options;
  const engine = options.engine ?? await engineFromConfig(config);
  const stopping = new AbortController();
  const deps = resolveDeps({ ...rest, engine, config, shutdownSignal: stopping.signal });
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
  if (warmUp) void deps.readiness.start();
  let stopped: Promise<void> | null = null;
  const shutdown = () =>
    stopped ??= (async () => {
      deps.log("info", "shutting down", { graceMs: config.shutdownGraceMs });
      deps.readiness.stop();
      const timer = setTimeout(() => stopping.abort(), config.shutdownGraceMs);
      await Promise.all([server.shutdown(), deps.jobs.shutdown(config.shutdownGraceMs)]);
      clearTimeout(timer);
      await engine.close();
      deps.log("info", "stopped");
    })();
  return { addr, deps, shutdown, finished: server.finished };
}

if (import.meta.main) {
  const running = await startServer({ config: parseConfig(Deno.env.toObject()) });
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(sig, () => void running.shutdown().then(() => Deno.exit(0)));
  }
}
