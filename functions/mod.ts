/**
 * The HTTP front end's surface for the layer above it (deploy/): the app builder, the
 * configuration it reads from the environment, and the job event type the job trigger sends.
 * functions/server.ts is the entry point that serves the app.
 *
 * @example
 * ```ts ignore
 * import { createApp, parseConfig } from "./mod.ts";
 * const config = parseConfig(Deno.env.toObject());
 * ```
 * @module
 */
export { type AppOptions, createApp } from "./app.ts";
export { type Config, ENV_NAMES, type Limits, parseConfig } from "./config.ts";
export { JOB_EVENT_TYPE } from "./lib/job_dispatch.ts";
