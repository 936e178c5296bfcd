/**
 * POST /v1/distributions: learn a distribution from reference images. Three ways to answer:
 * synchronous (201 and the manifest), Server-Sent Events (`Accept: text/event-stream`:
 * `progress` events, then `done` or `error`), or asynchronous (`Prefer: respond-async`: 202,
 * `Location: /v1/jobs/{id}`, optional signed webhook). `Idempotency-Key` replays the first
 * successful answer. Every limit is checked before the queue slot is used.
 *
 * @module
 */
import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { encodePng, type RgbImage, sha256Hex } from "../../core/engine/mod.ts";
import type { AppDeps, AppEnv } from "../env.ts";
import { ApiError, errorResponse, errorResponses, route } from "../errors.ts";
import { fingerprint, Idempotency, type StoredResponse } from "../lib/idempotency.ts";
import { dispatcherFromConfig } from "../lib/job_dispatch.ts";
import { submitDispatched } from "../lib/job_submit.ts";
import { JOB_ID } from "../lib/job_record.ts";
import { jobView, jobViewSchema } from "../lib/job_view.ts";
import { legacyOptionNames } from "../lib/api_options.ts";
import { toBase64 } from "../lib/base64.ts";
import { checkTrainBudget } from "../lib/memory_budget.ts";
import { ManifestSchema, manifestView } from "../lib/schemas.ts";
import { multipartComplete } from "../middleware/multipart/index.ts";
import {
  checkPreviews,
  checkUrls,
  fromForm,
  fromJson,
  loadImages,
  trainBodySchemas,
  type TrainForm,
  type TrainJson,
  type TrainRequest,
} from "../lib/train_input.ts";

/** Mounts the route on `app`. */
export function distributionsCreate(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const { json, form } = trainBodySchemas(deps.config.limits);
  const def = route(
    "post",
    "/v1/distributions",
    "Learn a prompt distribution from reference images",
    {
      // before the form is parsed: the parser drops a part that lacks its closing boundary
      middleware: [multipartComplete()] as const,
      request: {
        headers: z.object({
          "idempotency-key": z.string().optional(),
          prefer: z.string().optional().openapi({ example: "respond-async" }),
        }),
        body: {
          content: {
            "application/json": { schema: json },
            "multipart/form-data": { schema: form },
          },
        },
      },
      responses: {
        201: {
          description: "The learned distribution",
          content: { "application/json": { schema: ManifestSchema } },
        },
        202: {
          description: "Accepted as a job (see Location)",
          content: { "application/json": { schema: jobViewSchema() } },
        },
        200: {
          description: "Progress events, then `done` or `error`",
          content: { "text/event-stream": { schema: z.string() } },
        },
        ...errorResponses,
      },
    },
  );
  const idempotency = new Idempotency(deps.store, deps.config.leaseMs);
  const dispatcher = dispatcherFromConfig(deps.config);

  app.openapi(def, async (c) => {
    const { req, mode } = await parseTrain(c, deps, dispatcher !== null, {
      form: () => c.req.valid("form") as TrainForm,
      json: () => c.req.valid("json") as TrainJson,
    });
    const key = c.req.header("idempotency-key");
    const print = key === undefined ? "" : await fingerprint({
      model: req.model ?? null,
      options: req.options,
      webhook: req.webhook ?? null,
      webhook_events: req.webhookEvents ?? null,
      preview_every: req.previewEvery ?? null,
      images: await Promise.all(req.images.map((i) => ("url" in i ? i.url : sha256Hex(i.bytes)))),
    });
    let idem = key === undefined ? null : await idempotency.begin(key, print);
    if (idem?.kind === "replay") {
      // An accepted job is replayed as it stands now; a job lost with its instance has
      // released the key (functions/lib/job_record.ts), so the request runs again.
      const now = await currentJob(deps, idem.response);
      if (now !== "lost") return replay(c, now ?? idem.response, mode === "sse");
      idem = await idempotency.begin(key!, print);
      if (idem.kind === "replay") return replay(c, idem.response, mode === "sse");
    }

    const fresh = idem?.kind === "new" ? idem : null;
    const finish = (r: StoredResponse) => fresh ? fresh.finish(r) : Promise.resolve();
    const abandon = () => fresh ? fresh.abandon() : Promise.resolve();
    try {
      const images = await loadImages(req, deps.config.limits, deps.net, c.get("deadline").signal);
      const input = { images, options: req.options, ...(req.model ? { model: req.model } : {}) };
      const accepted: Accepted = { req, input, finish, abandon, storeKey: fresh?.storeKey };
      if (mode === "async") return await respondAsync(c, deps, dispatcher, accepted);
      if (mode === "sse") return stream(c, deps, accepted);
      return await respondSync(c, deps, accepted);
    } catch (e) {
      await abandon();
      throw e;
    }
  });
}

/** How the client asked to be answered. */
type Mode = "sync" | "sse" | "async";

/**
 * Parses and checks a request before any work: media type, body, deprecated option names
 * (answered with `Deprecation`), the model, the memory budget, the URLs, previews.
 */
async function parseTrain(
  c: Context<AppEnv>,
  deps: AppDeps,
  dispatched: boolean,
  body: { form: () => TrainForm; json: () => TrainJson },
): Promise<{ req: TrainRequest; mode: Mode }> {
  const type = c.req.header("content-type") ?? "";
  const { limits } = deps.config;
  const multipart = /^multipart\/form-data/i.test(type);
  if (!multipart && !/^application\/json/i.test(type)) {
    throw new ApiError(415, "unsupported_media_type", "send multipart/form-data or JSON");
  }
  const req: TrainRequest = multipart ? await fromForm(body.form(), limits) : fromJson(body.json());
  // Core's camelCase option names still work, deprecated (functions/lib/api_options.ts).
  const legacy = legacyOptionNames(
    multipart ? body.form().options : (await c.req.json()).options,
  );
  if (legacy.length > 0) {
    c.header("Deprecation", "true");
    deps.log("warn", "deprecated option names", { requestId: c.get("requestId"), legacy });
  }

  const models = await deps.models();
  if (req.model !== undefined && !models.some((m) => m.name === req.model)) {
    throw new ApiError(
      422,
      "unknown_model",
      `model ${req.model} is not offered here (GET /v1/models)`,
    );
  }
  await checkTrainBudget(deps, req.model, req.options);
  await checkUrls(req, deps.net, deps.config.webhookSecret);
  const mode: Mode = /respond-async/i.test(c.req.header("prefer") ?? "")
    ? "async"
    : /text\/event-stream/i.test(c.req.header("accept") ?? "")
    ? "sse"
    : "sync";
  checkPreviews(req, mode, dispatched);
  return { req, mode };
}

/** A checked request, its engine input, and how to settle its idempotency key. */
interface Accepted {
  req: TrainRequest;
  input: TrainInput;
  finish: (r: StoredResponse) => Promise<void>;
  abandon: () => Promise<void>;
  /** The idempotency record's key, for a job to release (absent without a fresh key). */
  storeKey: string | undefined;
}

/** The engine's preview hook for `every` (none when absent). */
function previews(
  every: number | undefined,
  onPreview: (p: { step: number; steps: number; png: Uint8Array }) => Promise<void> | void,
) {
  if (!every) return {};
  return {
    preview: {
      every,
      onPreview: ({ step, steps, image }: { step: number; steps: number; image: RgbImage }) =>
        onPreview({ step, steps, png: encodePng(image) }),
    },
  };
}

/** 202 and the job: queued on the platform, or run here. */
async function respondAsync(
  c: Context<AppEnv>,
  deps: AppDeps,
  dispatcher: ReturnType<typeof dispatcherFromConfig>,
  { req, input, finish, storeKey }: Accepted,
): Promise<Response> {
  const ticket = c.get("ticket");
  // On a platform the job goes to its queue and runs as an internal request
  // (functions/routes/internal_jobs.ts); on one machine it runs here.
  if (dispatcher) ticket.release();
  const job = dispatcher
    ? await submitDispatched(deps.store, dispatcher, input, req.webhook)
    : await deps.jobs.submit(
      ticket,
      (signal, onProgress, job) =>
        deps.engine.train(input, {
          signal,
          onProgress,
          ...previews(req.previewEvery, (p) => job.onPreview(p)),
        }),
      req.webhook,
      req.webhookEvents,
      storeKey,
    );
  const location = `/v1/jobs/${job.id}`;
  const body = jobView(job);
  await finish({ status: 202, body, location });
  return c.json(body, 202, { Location: location });
}

/** 201 and the manifest, once trained. */
async function respondSync(
  c: Context<AppEnv>,
  deps: AppDeps,
  { input, finish }: Accepted,
): Promise<Response> {
  const deadline = c.get("deadline");
  const manifest = await c.get("ticket").run(
    () => deps.engine.train(input, { signal: deadline.signal }),
    deadline.signal,
  );
  const location = `/v1/distributions/${manifest.id}`;
  const body = manifestView(manifest);
  await finish({ status: 201, body, location });
  return c.json(body, 201, { Location: location });
}

type TrainInput = Parameters<AppDeps["engine"]["train"]>[0];

/** Runs the training as an event stream. */
function stream(
  c: Context<AppEnv>,
  deps: AppDeps,
  { req, input, finish, abandon }: Accepted,
): Response {
  const deadline = c.get("deadline");
  const done = deadline.hold();
  const ticket = c.get("ticket");
  const ctl = new AbortController();
  const signal = AbortSignal.any([deadline.signal, ctl.signal]);
  return streamSSE(c, async (sse) => {
    sse.onAbort(() =>
      ctl.abort(new ApiError(499 as ContentfulStatusCode, "client_closed", "client disconnected"))
    );
    const ping = setInterval(() => void sse.write(": ping\n\n").catch(() => {}), 15_000);
    const send = (event: string, data: unknown) =>
      sse.writeSSE({ event, data: JSON.stringify(data) }).catch(() => {});
    try {
      const manifest = await ticket.run(() =>
        deps.engine.train(input, {
          signal,
          onProgress: (p) =>
            void send("progress", {
              step: p.step,
              steps: p.steps,
              loss: p.loss,
              eta_seconds: p.etaSeconds,
            }),
          ...previews(req.previewEvery, ({ step, steps, png }) =>
            send("preview", { step, steps, png_base64: toBase64(png) })),
        }), signal);
      const body = manifestView(manifest);
      await finish({ status: 201, body, location: `/v1/distributions/${manifest.id}` });
      await send("done", { manifest: body });
    } catch (e) {
      await abandon();
      const { error, body } = errorResponse(e, signal, c.get("requestId"));
      if (error.status >= 500) {
        deps.log("error", "training stream failed", {
          requestId: c.get("requestId"),
          error: String(e),
        });
      }
      await send("error", body);
    } finally {
      clearInterval(ping);
      if (!ticket.used) ticket.release();
      done();
    }
  });
}

/**
 * The current state of the job a stored 202 answer names: the stored answer with the job's
 * record now, "lost" when the job's instance died, or null when the answer is not a job.
 */
async function currentJob(
  deps: AppDeps,
  r: StoredResponse,
): Promise<StoredResponse | "lost" | null> {
  const id = r.status === 202 ? r.location?.split("/").pop() : undefined;
  if (id === undefined || !JOB_ID.test(id)) return null;
  const job = await deps.jobs.get(id);
  if (job === null) return null;
  if (job.status === "failed" && job.error?.code === "worker_lost") return "lost";
  return { ...r, body: jobView(job) };
}

/** Answers a retry with the stored first answer. */
function replay(c: Context<AppEnv>, r: StoredResponse, sse: boolean): Response {
  const headers: Record<string, string> = { "Idempotent-Replayed": "true" };
  if (r.location) headers.Location = r.location;
  if (sse && r.status === 201) {
    return streamSSE(c, async (s) => {
      await s.writeSSE({ event: "done", data: JSON.stringify({ manifest: r.body }) });
    });
  }
  return c.json(r.body as Record<string, unknown>, r.status as ContentfulStatusCode, headers);
}
