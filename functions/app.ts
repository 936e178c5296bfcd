/**
 * The HTTP app: middleware composed explicitly, in order —
 *
 * 1. request id (every response carries `X-Request-Id`), access log;
 * 2. API keys (Bearer; `/healthz`, `/readyz`, `/openapi.json`, `/docs` open);
 * 3. the work queue for the model routes (429 + Retry-After when full), before a byte of the
 *    body is read: a full server refuses a slow or large upload at once;
 * 4. body limits (`maxBodyBytes` for training, `maxJsonBytes` for other POSTs), before parsing;
 * 5. deadline (timeout, client disconnect, shutdown) for everything under /v1;
 *
 * then one file per route, one onError, one validation hook and a JSON 404.
 *
 * @example
 * ```ts ignore
 * const app = createApp({ engine, config: parseConfig({}) });
 * const res = await app.request("/healthz");
 * ```
 *
 * @module
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { EngineApi } from "../core/engine/mod.ts";
import { type Config, parseConfig } from "./config.ts";
import type { AppDeps, AppEnv, Log, ModelInfo } from "./env.ts";
import { defaultHook, errorHandler, notFound } from "./errors.ts";
import { JobRunner } from "./lib/jobs.ts";
import { Readiness } from "./lib/readiness.ts";
import type { NetOptions } from "./lib/url_guard.ts";
import { auth } from "./middleware/auth/index.ts";
import { bodyLimit } from "./middleware/body_limit/index.ts";
import { queue, WorkQueue } from "./middleware/queue/index.ts";
import { requestId } from "./middleware/request_id/index.ts";
import { timeout } from "./middleware/timeout/index.ts";
import { distributionsCreate } from "./routes/distributions_create.ts";
import { distributionsDelete } from "./routes/distributions_delete.ts";
import { distributionsGet } from "./routes/distributions_get.ts";
import { distributionsList } from "./routes/distributions_list.ts";
import { embeddingsCreate } from "./routes/embeddings_create.ts";
import { health } from "./routes/health.ts";
import { jobsCancel } from "./routes/jobs_cancel.ts";
import { jobPreviews } from "./routes/job_previews.ts";
import { jobsGet } from "./routes/jobs_get.ts";
import { jobsList } from "./routes/jobs_list.ts";
import { modelsList } from "./routes/models_list.ts";
import { modelsBrowser } from "./routes/models_browser.ts";
import { distributionParameters } from "./routes/distribution_parameters.ts";
import { DOCS_ASSET_PATHS, openapi } from "./routes/openapi.ts";
import { internalJobs } from "./routes/internal_jobs.ts";
import { playground, PLAYGROUND_PATHS } from "./routes/playground.ts";
import { samplesCreate } from "./routes/samples_create.ts";
import { textualInversionGet } from "./routes/textual_inversion_get.ts";

/** What {@linkcode createApp} needs; everything but the engine has a default. */
export interface AppOptions {
  engine: EngineApi;
  config?: Config;
  log?: Log;
  queue?: WorkQueue;
  jobs?: JobRunner;
  readiness?: Readiness;
  models?: () => Promise<ModelInfo[]>;
  /** Overrides of the outgoing-request rules (resolver, fetch). */
  net?: Partial<NetOptions>;
  shutdownSignal?: AbortSignal;
  /** Webhook retry waits in ms (default [1000, 4000]). */
  webhookBackoffMs?: readonly number[];
  /** Least ms between two `job.progress` webhooks of a job (default 10 000). */
  webhookProgressMs?: number;
}

/** Writes one JSON line per event to stderr. */
export const jsonLog: Log = (level, msg, fields = {}) => {
  console.error(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }));
};

/** Fills in the defaults of {@linkcode AppOptions}. */
export function resolveDeps(o: AppOptions): AppDeps {
  const config = o.config ?? parseConfig({});
  const log = o.log ?? jsonLog;
  const store = o.engine.options.store;
  const net: NetOptions = {
    allowPrivate: config.allowPrivateUrls,
    timeoutMs: config.fetchTimeoutMs,
    ...o.net,
  };
  return {
    engine: o.engine,
    store,
    config,
    log,
    net,
    queue: o.queue ??
      new WorkQueue({ concurrency: config.concurrency, maxWaiting: config.queueSize }),
    jobs: o.jobs ?? new JobRunner({
      store,
      log,
      net,
      webhookSecret: config.webhookSecret,
      timeoutMs: config.jobTimeoutMs,
      leaseMs: config.leaseMs,
      ...(o.webhookBackoffMs ? { webhookBackoffMs: o.webhookBackoffMs } : {}),
      ...(o.webhookProgressMs !== undefined ? { webhookProgressMs: o.webhookProgressMs } : {}),
    }),
    readiness: o.readiness ?? new Readiness(() => o.engine.model()),
    models: o.models ??
      (() => Promise.resolve([{ name: o.engine.options.defaultModel, default: true }])),
    shutdownSignal: o.shutdownSignal ?? new AbortController().signal,
  };
}

/**
 * Builds the app.
 *
 * @param options The engine and, optionally, everything else (see {@linkcode AppOptions}).
 * @returns The Hono app; `app.fetch` serves, `app.request` tests.
 */
export function createApp(options: AppOptions | AppDeps): OpenAPIHono<AppEnv> {
  const deps = "store" in options && "readiness" in options && "jobs" in options
    ? options as AppDeps
    : resolveDeps(options);
  const { config, log } = deps;
  const app = new OpenAPIHono<AppEnv>({ defaultHook });
  app.onError(errorHandler(log));
  app.notFound(notFound);

  app.use(requestId());
  app.use(async function accessLog(c, next) {
    const start = performance.now();
    await next();
    log("info", "request", {
      requestId: c.get("requestId"),
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Math.round(performance.now() - start),
    });
  });
  // /internal/jobs/run is signed with DD_INTERNAL_SECRET instead (routes/internal_jobs.ts).
  const open = [
    "/healthz",
    "/readyz",
    "/openapi.json",
    "/docs",
    ...DOCS_ASSET_PATHS,
    ...PLAYGROUND_PATHS,
    "/internal/jobs/run",
  ];
  app.use(auth({ keys: config.apiKeys, open }));
  app.on(
    "POST",
    ["/v1/distributions", "/v1/samples", "/v1/embeddings", "/internal/jobs/run"],
    queue(deps.queue),
  );
  app.on("POST", "/v1/distributions", bodyLimit({ maxBytes: config.limits.maxBodyBytes }));
  app.on(
    "POST",
    ["/v1/samples", "/v1/embeddings"],
    bodyLimit({ maxBytes: config.limits.maxJsonBytes }),
  );
  app.use("/v1/*", timeout({ ms: config.requestTimeoutMs, shutdown: deps.shutdownSignal }));
  app.on("POST", "/internal/jobs/run", bodyLimit({ maxBytes: 4096 }));

  health(app, deps);
  modelsList(app, deps);
  modelsBrowser(app, deps);
  distributionsCreate(app, deps);
  distributionsList(app, deps);
  distributionsGet(app, deps);
  distributionsDelete(app, deps);
  jobsList(app, deps);
  textualInversionGet(app, deps);
  distributionParameters(app, deps);
  jobsGet(app, deps);
  jobsCancel(app, deps);
  jobPreviews(app, deps);
  samplesCreate(app, deps);
  embeddingsCreate(app, deps);
  internalJobs(app, deps);
  openapi(app);
  playground(app);
  return app;
}
