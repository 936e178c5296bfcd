/**
 * The model worker of `deno task serve` (core/engine/worker_engine.ts): the engine that
 * functions/server.ts would build on its main thread, built here from the server's
 * configuration, so that ONNX Runtime never blocks the HTTP thread.
 *
 * @module
 */
import { serveEngine } from "../core/engine/mod.ts";
import type { Config } from "./config.ts";
import { engineFromConfig } from "./server.ts";

serveEngine((init) => engineFromConfig(init as Config));
