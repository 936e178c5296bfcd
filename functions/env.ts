/**
 * The types the app, its middleware and its routes share: the Hono environment (context
 * variables) and the dependencies a route receives.
 *
 * @module
 */
import type { EngineApi, Store } from "../core/engine/mod.ts";
import type { Config } from "./config.ts";
import type { JobRunner } from "./lib/jobs.ts";
import type { NetOptions } from "./lib/url_guard.ts";
import type { Readiness } from "./lib/readiness.ts";
import type { Deadline } from "./middleware/timeout/index.ts";
import type { Ticket, WorkQueue } from "./middleware/queue/index.ts";

/** Log levels. */
export type LogLevel = "info" | "warn" | "error";

/** A structured logger: never pass secrets or image bytes in `fields`. */
export type Log = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;

/** The Hono environment: what middleware puts in the context. */
export type AppEnv = {
  Variables: {
    requestId: string;
    deadline: Deadline;
    ticket: Ticket;
  };
};

/** A model the server offers. */
export interface ModelInfo {
  name: string;
  default: boolean;
}

/** Everything a route may use. */
export interface AppDeps {
  engine: EngineApi;
  store: Store;
  config: Config;
  queue: WorkQueue;
  jobs: JobRunner;
  readiness: Readiness;
  /** The models offered (GET /v1/models; train requests naming another are refused). */
  models: () => Promise<ModelInfo[]>;
  net: NetOptions;
  log: Log;
  /** Aborted when the server shuts down: in-flight work is cancelled. */
  shutdownSignal: AbortSignal;
}
