/**
 * The request of POST /v1/distributions: its two body forms (multipart files, or JSON with
 * URLs or base64), their schemas under the configured limits, and turning either into the
 * engine's input with every limit checked before any model work: image count, option
 * ranges, known model, webhook and image URL addresses, download sizes, and each image's
 * format and pixel count (from its header).
 *
 * @module
 */
import { z } from "@hono/zod-openapi";
import {
  ImageError,
  type ImageInput,
  probeImage,
  type TrainOptions,
  TrainOptionsSchema,
} from "../../core/engine/mod.ts";
import type { Limits } from "../config.ts";
import { ApiError, describeIssues, toApiError } from "../errors.ts";
import { optionsSchema, toCoreOptions } from "./api_options.ts";
import { fromBase64 } from "./base64.ts";
import { fetchBytes } from "./fetch_limited.ts";
import { checkUrl, type NetOptions } from "./url_guard.ts";
import { WEBHOOK_EVENTS, type WebhookEvent } from "./webhook.ts";

/** At most this many previews per training (steps / preview_every). */
export const MAX_PREVIEWS = 50;
const PREVIEW_HELP = "draw a 2x2 preview grid from the distribution learned so far every N " +
  `steps (SSE: \`preview\` events; async: kept with the job, announced in job.progress ` +
  `webhooks); at most ${MAX_PREVIEWS} per training`;

const EVENTS_HELP =
  "which webhooks to send: start (job.running), progress (job.progress, at most " +
  "one per 10 s), completed (job.succeeded | job.failed); default completed";

/** Both body schemas of the route. */
export function trainBodySchemas(limits: Limits) {
  const count = `${limits.minImages} to ${limits.maxImages} images`;
  const ImageRef = z.union([
    z.object({ url: z.string().min(1).max(2048) }).strict(),
    z.object({ base64: z.string().min(1) }).strict(),
  ]).openapi("ImageRef");
  const json = z.object({
    images: z.array(ImageRef).min(limits.minImages, count).max(limits.maxImages, count),
    options: optionsSchema(limits).optional(),
    model: z.string().min(1).max(200).optional(),
    webhook: z.string().min(1).max(2048).optional(),
    webhook_events: z.array(z.enum(WEBHOOK_EVENTS)).min(1).max(3).optional()
      .openapi({ description: EVENTS_HELP, example: ["start", "progress", "completed"] }),
    preview_every: z.number().int().min(1).max(100_000).optional()
      .openapi({ description: PREVIEW_HELP, example: 100 }),
  }).strict().openapi("TrainJsonRequest", {
    example: {
      images: [{ url: "https://example.com/ref0.png" }, { base64: "iVBORw0KGgo..." }],
      options: { k: 8, m: 4, steps: 300, seed: 1 },
      webhook: "https://example.com/hooks/dd",
      webhook_events: ["start", "completed"],
    },
  });
  const file = z.custom<File>((v) => v instanceof File, "expected a file")
    .openapi({ type: "string", format: "binary" });
  const form = z.object({
    images: z.union([file, z.array(file)]).transform((v) => (Array.isArray(v) ? v : [v]))
      .pipe(z.array(file).min(limits.minImages, count).max(limits.maxImages, count)),
    options: z.string().max(100_000).optional()
      .openapi({ description: "training options as a JSON object" }),
    model: z.string().min(1).max(200).optional(),
    webhook: z.string().min(1).max(2048).optional(),
    webhook_events: z.string().max(100).optional()
      .openapi({ description: `comma-separated; ${EVENTS_HELP}`, example: "start,completed" }),
    preview_every: z.string().regex(/^\d{1,6}$/, "expected a whole number of steps").optional()
      .openapi({ description: PREVIEW_HELP, example: "100" }),
  }).openapi("TrainMultipartRequest");
  return { json, form };
}

/** A train request, parsed. */
export interface TrainRequest {
  model?: string;
  /** Under core's names. */
  options: Partial<TrainOptions>;
  webhook?: string;
  /** The webhook's events (absent: completed only). */
  webhookEvents?: WebhookEvent[];
  /** Steps between previews (absent: none). */
  previewEvery?: number;
  /** Uploaded bytes, or URLs still to fetch. */
  images: ({ bytes: Uint8Array; name: string } | { url: string; name: string })[];
}

/** A JSON body after validation. */
export type TrainJson = z.infer<ReturnType<typeof trainBodySchemas>["json"]>;
/** A multipart body after validation. */
export type TrainForm = z.infer<ReturnType<typeof trainBodySchemas>["form"]>;

/** The JSON body as a {@linkcode TrainRequest} (base64 decoded). */
export function fromJson(body: TrainJson): TrainRequest {
  const images = body.images.map((ref, i) => {
    if ("url" in ref) return { url: ref.url, name: `images[${i}]` };
    const bytes = fromBase64(ref.base64);
    if (bytes === null) {
      throw new ApiError(400, "validation_error", `images.${i}.base64: not base64`);
    }
    return { bytes, name: `images[${i}]` };
  });
  return {
    images,
    options: toCoreOptions(body.options ?? {}),
    model: body.model,
    webhook: body.webhook,
    ...(body.webhook_events ? { webhookEvents: [...new Set(body.webhook_events)] } : {}),
    ...(body.preview_every !== undefined ? { previewEvery: body.preview_every } : {}),
  };
}

/** The multipart body as a {@linkcode TrainRequest} (the options field parsed). */
export async function fromForm(body: TrainForm, limits: Limits): Promise<TrainRequest> {
  let options: Partial<TrainOptions> = {};
  if (body.options !== undefined && body.options.trim() !== "") {
    let raw: unknown;
    try {
      raw = JSON.parse(body.options);
    } catch {
      throw new ApiError(400, "invalid_json", "options: not valid JSON");
    }
    const parsed = optionsSchema(limits).safeParse(raw);
    if (!parsed.success) {
      throw new ApiError(400, "validation_error", `options.${describeIssues(parsed.error)}`);
    }
    options = toCoreOptions(parsed.data);
  }
  const images = await Promise.all(body.images.map(async (f, i) => ({
    bytes: new Uint8Array(await f.arrayBuffer()),
    name: f.name ? `images[${i}] (${f.name.slice(0, 100)})` : `images[${i}]`,
  })));
  let webhookEvents: WebhookEvent[] | undefined;
  if (body.webhook_events !== undefined) {
    const names = body.webhook_events.split(",").map((e) => e.trim());
    const bad = names.find((e) => !(WEBHOOK_EVENTS as readonly string[]).includes(e));
    if (bad !== undefined) {
      throw new ApiError(
        400,
        "validation_error",
        `webhook_events: ${JSON.stringify(bad)} is not one of ${WEBHOOK_EVENTS.join(", ")}`,
      );
    }
    webhookEvents = [...new Set(names as WebhookEvent[])];
  }
  return {
    images,
    options,
    model: body.model,
    webhook: body.webhook,
    ...(webhookEvents ? { webhookEvents } : {}),
    ...(body.preview_every !== undefined ? { previewEvery: Number(body.preview_every) } : {}),
  };
}

/**
 * Checks `preview_every` against the answer mode and the number of steps.
 *
 * @param mode How the request is answered (previews need a stream or a job).
 * @param dispatched Whether async jobs go to a platform queue (no previews there yet).
 */
export function checkPreviews(
  req: TrainRequest,
  mode: "sync" | "sse" | "async",
  dispatched: boolean,
): void {
  const every = req.previewEvery;
  if (every === undefined) return;
  const fail = (why: string) => {
    throw new ApiError(400, "validation_error", `preview_every: ${why}`);
  };
  if (every < 1) fail("must be at least 1");
  if (mode === "sync") fail("previews need Accept: text/event-stream or Prefer: respond-async");
  if (mode === "async" && dispatched) fail("not available with DD_JOB_DISPATCH (platform jobs)");
  const steps = req.options.steps ?? (TrainOptionsSchema.shape.steps.parse(undefined) as number);
  if (Math.floor(steps / every) > MAX_PREVIEWS) {
    fail(`${Math.floor(steps / every)} previews for ${steps} steps; at most ${MAX_PREVIEWS}`);
  }
}

/** Checks the webhook and image URLs (addresses only, nothing fetched). */
export async function checkUrls(req: TrainRequest, net: NetOptions, secret: string): Promise<void> {
  if (req.webhookEvents !== undefined && req.webhook === undefined) {
    throw new ApiError(400, "validation_error", "webhook_events: needs a webhook");
  }
  if (req.webhook !== undefined) {
    if (secret === "") {
      throw new ApiError(
        400,
        "webhook_not_configured",
        "webhooks need DD_WEBHOOK_SECRET on the server",
      );
    }
    await checkUrl(req.webhook, net, "webhook");
  }
  for (const img of req.images) if ("url" in img) await checkUrl(img.url, net, img.name);
}

/**
 * Downloads the URL images (total bytes bounded by `maxBodyBytes`), then checks every image's
 * header: format, size and pixel count.
 *
 * @returns The engine's image inputs.
 */
export async function loadImages(
  req: TrainRequest,
  limits: Limits,
  net: NetOptions,
  signal?: AbortSignal,
): Promise<ImageInput[]> {
  let total = 0;
  const out: ImageInput[] = [];
  for (const img of req.images) {
    const bytes = "bytes" in img ? img.bytes : await fetchBytes(img.url, {
      maxBytes: Math.min(limits.maxImageBytes, limits.maxBodyBytes - total),
      net,
      what: img.name,
      ...(signal ? { signal } : {}),
    });
    total += bytes.length;
    try {
      probeImage(bytes, { maxPixels: limits.maxImagePixels });
    } catch (e) {
      if (!(e instanceof ImageError)) throw e;
      const err = toApiError(e);
      throw new ApiError(err.status, err.code, `${img.name}: ${e.message}`);
    }
    out.push({ bytes, name: img.name });
  }
  return out;
}
