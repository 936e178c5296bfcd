/**
 * Server configuration from environment variables, parsed with zod: every variable has a
 * default (see functions/README.md), and a bad value is refused at start-up with its name.
 *
 * @example
 * ```ts
 * import { parseConfig } from "./config.ts";
 * const config = parseConfig({ PORT: "9000", DD_API_KEYS: "k1,k2" });
 * console.assert(config.port === 9000 && config.apiKeys.length === 2);
 * ```
 *
 * @module
 */
import { z } from "zod";

/** Empty variables count as unset. */
const unsetEmpty = (v: unknown) => (v === "" ? undefined : v);
const int = (min: number, def: number) =>
  z.preprocess(unsetEmpty, z.coerce.number().int().min(min).default(def));
const flag = z.enum(["", "0", "1", "false", "true", "no", "yes"]).default("")
  .transform((v) => v === "1" || v === "true" || v === "yes");
const MiB = 1024 * 1024;

/** The environment variables read, with their defaults. */
const EnvSchema = z.object({
  PORT: z.preprocess(unsetEmpty, z.coerce.number().int().min(0).max(65535).default(8000)),
  HOST: z.preprocess(unsetEmpty, z.string().min(1).optional()),
  DD_ALLOW_UNAUTHENTICATED_PUBLIC: flag,
  DD_STORE: z.string().min(1).default("./.data"),
  DD_API_KEYS: z.string().default("").transform((s) =>
    s.split(",").map((k) => k.trim()).filter((k) => k.length > 0)
  ),
  // Standard Webhooks form `whsec_<base64>` (or any other string, used as its UTF-8 bytes).
  DD_WEBHOOK_SECRET: z.string().default("").refine(
    (s) => !s.startsWith("whsec_") || /^whsec_[A-Za-z0-9+/]+={0,2}$/.test(s) && s.length % 4 === 2,
    "a whsec_ secret needs base64 after the prefix",
  ),
  DD_ALLOW_PRIVATE_URLS: flag,
  DD_DEFAULT_MODEL: z.string().min(1).default("dd-world-tiny"),
  DD_MODEL_DIR: z.string().default(""),
  DD_MODEL_MIRROR: z.string().trim().default("").refine(
    (v) => v === "" || /^(s3:\/\/[^/]+|file:\/\/\/|\/|\.\.?\/)/.test(v),
    { message: "expected s3://bucket/prefix, file:///dir or a folder path" },
  ),
  DD_CACHE_DIR: z.string().default(""),
  DD_EXECUTION_PROVIDER: z.enum(["cpu", "cuda"]).default("cpu"),
  DD_MAX_BODY_BYTES: int(1024, 64 * MiB),
  DD_MAX_JSON_BYTES: int(1024, 256 * 1024),
  DD_MAX_IMAGE_BYTES: int(1024, 16 * MiB),
  DD_MAX_IMAGES: int(1, 20),
  DD_MIN_IMAGES: int(1, 1),
  DD_MAX_IMAGE_PIXELS: int(1, 16_777_216),
  DD_MAX_N: int(1, 16),
  DD_MAX_STEPS: int(1, 150),
  DD_MAX_TRAIN_STEPS: int(1, 5000),
  DD_MAX_K: int(2, 64),
  DD_MAX_M: int(1, 16),
  DD_MEMORY_BUDGET_MB: int(64, 4096),
  DD_CONCURRENCY: int(1, 1),
  DD_QUEUE_SIZE: int(0, 8),
  DD_REQUEST_TIMEOUT_MS: int(1, 30 * 60_000),
  DD_JOB_TIMEOUT_MS: int(1, 2 * 3600_000),
  DD_FETCH_TIMEOUT_MS: int(1, 10_000),
  DD_SHUTDOWN_GRACE_MS: int(0, 25_000),
  DD_LEASE_MS: int(100, 60_000),
  DD_MODEL_WORKER: z.enum(["", "0", "1", "false", "true", "no", "yes"]).default("")
    .transform((v) => !(v === "0" || v === "false" || v === "no")),
  DD_JOB_DISPATCH: z.preprocess(
    unsetEmpty,
    z.enum(["inprocess", "cloudtasks", "knative"]).default("inprocess"),
  ),
  DD_INTERNAL_SECRET: z.string().default(""),
  DD_SERVICE_URL: z.string().default(""),
  DD_CLOUD_TASKS_QUEUE: z.string().default("").refine(
    (v) => v === "" || /^projects\/[^/]+\/locations\/[^/]+\/queues\/[^/]+$/.test(v),
    { message: "expected projects/PROJECT/locations/LOCATION/queues/QUEUE" },
  ),
  DD_CLOUD_TASKS_SERVICE_ACCOUNT: z.string().default(""),
  DD_CLOUD_TASKS_ENDPOINT: z.string().default("https://cloudtasks.googleapis.com"),
  DD_EVENTING_BROKER_URL: z.string().default(""),
});

/**
 * How async training jobs run: in the accepting instance (`inprocess`), or dispatched through
 * the platform's queue as internal requests (functions/lib/job_dispatch.ts).
 */
export type JobDispatchConfig =
  | { kind: "inprocess" }
  | {
    kind: "cloudtasks";
    /** HMAC-SHA256 key of internal requests (DD_INTERNAL_SECRET). */
    secret: string;
    /** `projects/P/locations/L/queues/Q`. */
    queue: string;
    /** This service's URL, which the tasks call. */
    serviceUrl: string;
    /** Service account whose OIDC token the tasks carry; empty = none. */
    serviceAccount: string;
    /** Cloud Tasks API endpoint. */
    endpoint: string;
    /** Host of the metadata server giving the instance's access token (GCE_METADATA_HOST). */
    metadataHost: string;
  }
  | {
    kind: "knative";
    secret: string;
    /** Broker ingress URL (DD_EVENTING_BROKER_URL, else K_SINK). */
    brokerUrl: string;
  };

/** Limits checked before any work starts. */
export interface Limits {
  /** Largest request body of POST /v1/distributions, in bytes. */
  maxBodyBytes: number;
  /** Largest JSON body of the other POST routes, in bytes. */
  maxJsonBytes: number;
  /** Largest image fetched from a URL, in bytes. */
  maxImageBytes: number;
  maxImages: number;
  minImages: number;
  /** Largest width * height of a reference image (checked from its header). */
  maxImagePixels: number;
  /** Most images per sample request. */
  maxN: number;
  /** Most denoising steps per sample request. */
  maxSteps: number;
  maxTrainSteps: number;
  maxK: number;
  maxM: number;
  /**
   * Ceiling of one request's estimated peak memory, in MiB (core/engine/budget.ts); a train or
   * sample request estimated above it is refused with 422 `over_budget` before any work.
   */
  memoryBudgetMb: number;
}

/** The parsed configuration. */
export interface Config {
  port: number;
  /**
   * Listening address: `HOST`, else 127.0.0.1, or 0.0.0.0 when API keys are set or
   * `DD_ALLOW_UNAUTHENTICATED_PUBLIC=1` (see {@linkcode bindHost}).
   */
  host: string;
  /** Store URL or path (`./.data`, `file:///dir`, `s3://bucket/prefix`). */
  store: string;
  /** Accepted Bearer keys; empty = no authentication. */
  apiKeys: string[];
  /** HMAC-SHA256 key of webhook signatures; empty = webhooks refused. */
  webhookSecret: string;
  /** Allow image and webhook URLs to private, loopback and link-local addresses. */
  allowPrivateUrls: boolean;
  defaultModel: string;
  /** Folder of the default model (diffusers layout); empty = the tiny test fixture. */
  modelDir: string;
  /**
   * The operator's model mirror (`s3://bucket/prefix` or a folder in the Hugging Face cache
   * layout), tried before the Hub for pinned files missing from the cache; empty = none.
   */
  modelMirror: string;
  /** Train-graph cache folder; empty = no cache. */
  cacheDir: string;
  /** ONNX Runtime execution provider: "cuda" in the GPU image, "cpu" elsewhere. */
  executionProvider: "cpu" | "cuda";
  limits: Limits;
  /** Model work run at once. */
  concurrency: number;
  /** Model work allowed to wait; more is refused with 429. */
  queueSize: number;
  requestTimeoutMs: number;
  jobTimeoutMs: number;
  fetchTimeoutMs: number;
  shutdownGraceMs: number;
  /**
   * Lease of a running job or Idempotency-Key record, in ms: renewed every third of it while
   * the work runs; when the instance dies, the job is reported lost (`worker_lost`) and the key
   * freed once it has run out.
   */
  leaseMs: number;
  /**
   * Run model work (ONNX Runtime) in a Web Worker, off the HTTP thread (default on;
   * `DD_MODEL_WORKER=0` runs it on the main thread).
   */
  modelWorker: boolean;
  /** Where async training jobs run. */
  dispatch: JobDispatchConfig;
}

/**
 * Parses environment variables into a {@linkcode Config}.
 *
 * @param env Variables (e.g. `Deno.env.toObject()`); missing ones take their defaults.
 * @returns The configuration.
 * @throws {Error} Naming each variable with a bad value (never echoing secrets).
 */
export function parseConfig(env: Record<string, string | undefined>): Config {
  const r = EnvSchema.safeParse(env);
  if (!r.success) {
    const why = r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`invalid configuration: ${why}`);
  }
  const e = r.data;
  return {
    ...settings(e),
    dispatch: dispatchConfig(e, env),
  };
}

/** The job dispatch settings, checked together. */
function dispatchConfig(
  e: z.infer<typeof EnvSchema>,
  env: Record<string, string | undefined>,
): JobDispatchConfig {
  const missing = (names: string[]) => {
    const empty = names.filter((n) => (e as Record<string, unknown>)[n] === "");
    if (empty.length > 0) {
      throw new Error(
        `invalid configuration: DD_JOB_DISPATCH=${e.DD_JOB_DISPATCH} needs ${empty.join(", ")}`,
      );
    }
  };
  if (e.DD_JOB_DISPATCH === "cloudtasks") {
    missing(["DD_INTERNAL_SECRET", "DD_CLOUD_TASKS_QUEUE", "DD_SERVICE_URL"]);
    return {
      kind: "cloudtasks",
      secret: e.DD_INTERNAL_SECRET,
      queue: e.DD_CLOUD_TASKS_QUEUE,
      serviceUrl: e.DD_SERVICE_URL,
      serviceAccount: e.DD_CLOUD_TASKS_SERVICE_ACCOUNT,
      endpoint: e.DD_CLOUD_TASKS_ENDPOINT,
      // The metadata server, as Google's client libraries find it.
      metadataHost: env.GCE_METADATA_HOST || "metadata.google.internal",
    };
  }
  if (e.DD_JOB_DISPATCH === "knative") {
    missing(["DD_INTERNAL_SECRET"]);
    // K_SINK: what a Knative SinkBinding injects.
    const brokerUrl = e.DD_EVENTING_BROKER_URL || env.K_SINK || "";
    if (brokerUrl === "") {
      throw new Error(
        "invalid configuration: DD_JOB_DISPATCH=knative needs DD_EVENTING_BROKER_URL (or K_SINK)",
      );
    }
    return { kind: "knative", secret: e.DD_INTERNAL_SECRET, brokerUrl };
  }
  return { kind: "inprocess" };
}

function settings(e: z.infer<typeof EnvSchema>): Omit<Config, "dispatch"> {
  return {
    port: e.PORT,
    host: bindHost(e.HOST, e.DD_API_KEYS.length > 0, e.DD_ALLOW_UNAUTHENTICATED_PUBLIC),
    store: e.DD_STORE,
    apiKeys: e.DD_API_KEYS,
    webhookSecret: e.DD_WEBHOOK_SECRET,
    allowPrivateUrls: e.DD_ALLOW_PRIVATE_URLS,
    defaultModel: e.DD_DEFAULT_MODEL,
    modelDir: e.DD_MODEL_DIR,
    modelMirror: e.DD_MODEL_MIRROR,
    cacheDir: e.DD_CACHE_DIR,
    executionProvider: e.DD_EXECUTION_PROVIDER,
    limits: {
      maxBodyBytes: e.DD_MAX_BODY_BYTES,
      maxJsonBytes: e.DD_MAX_JSON_BYTES,
      maxImageBytes: e.DD_MAX_IMAGE_BYTES,
      maxImages: e.DD_MAX_IMAGES,
      minImages: Math.min(e.DD_MIN_IMAGES, e.DD_MAX_IMAGES),
      maxImagePixels: e.DD_MAX_IMAGE_PIXELS,
      maxN: e.DD_MAX_N,
      maxSteps: e.DD_MAX_STEPS,
      maxTrainSteps: e.DD_MAX_TRAIN_STEPS,
      maxK: e.DD_MAX_K,
      maxM: e.DD_MAX_M,
      memoryBudgetMb: e.DD_MEMORY_BUDGET_MB,
    },
    concurrency: e.DD_CONCURRENCY,
    queueSize: e.DD_QUEUE_SIZE,
    requestTimeoutMs: e.DD_REQUEST_TIMEOUT_MS,
    jobTimeoutMs: e.DD_JOB_TIMEOUT_MS,
    fetchTimeoutMs: e.DD_FETCH_TIMEOUT_MS,
    shutdownGraceMs: e.DD_SHUTDOWN_GRACE_MS,
    leaseMs: e.DD_LEASE_MS,
    modelWorker: e.DD_MODEL_WORKER,
  };
}

/** Loopback addresses: reachable only from this machine. */
const LOOPBACK = /^(127(\.\d{1,3}){3}|::1|\[::1\]|localhost)$/i;

/**
 * The listening address. Without API keys the server answers anyone who can reach it, so it
 * binds to loopback unless told otherwise: `HOST` unset gives 127.0.0.1, or 0.0.0.0 when keys
 * are set or `allowPublic` (`DD_ALLOW_UNAUTHENTICATED_PUBLIC=1`, for a platform that
 * authenticates in front of the service); a non-loopback `HOST` without either is refused.
 *
 * @param host `HOST`, if set.
 * @param hasKeys Whether `DD_API_KEYS` names any key.
 * @param allowPublic `DD_ALLOW_UNAUTHENTICATED_PUBLIC`.
 * @returns The address to bind.
 * @throws {Error} For a public `HOST` with neither keys nor `allowPublic`.
 *
 * @example
 * ```ts
 * import { bindHost } from "./config.ts";
 * console.assert(bindHost(undefined, false, false) === "127.0.0.1");
 * console.assert(bindHost(undefined, true, false) === "0.0.0.0");
 * ```
 */
export function bindHost(host: string | undefined, hasKeys: boolean, allowPublic: boolean): string {
  if (host === undefined) return hasKeys || allowPublic ? "0.0.0.0" : "127.0.0.1";
  if (!LOOPBACK.test(host) && !hasKeys && !allowPublic) {
    throw new Error(
      `invalid configuration: HOST=${host} would serve without authentication; ` +
        "set DD_API_KEYS, or DD_ALLOW_UNAUTHENTICATED_PUBLIC=1 when something in front " +
        "authenticates",
    );
  }
  return host;
}

/** The names of the environment variables {@linkcode parseConfig} reads. */
export const ENV_NAMES: readonly string[] = Object.keys(EnvSchema.shape);
