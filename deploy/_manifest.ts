/**
 * `deploy:check`'s checks of one Knative / Cloud Run Service manifest against the image and the
 * code, and the lists of variables that are the platform's, required, or secret.
 *
 * @module
 */
import { parseConfig } from "../functions/mod.ts";
import { checkCacheDir, type ModelEnv } from "./_models.ts";

/** Read by Deno or the NVIDIA runtime, not the project: the image or a manifest may set them. */
export const RUNTIME_ENV: readonly string[] = [
  "DENO_DIR",
  "DENO_NO_UPDATE_CHECK",
  "DENO_V8_FLAGS",
  "NVIDIA_VISIBLE_DEVICES",
  "NVIDIA_DRIVER_CAPABILITIES",
];
/** Set by Knative / Cloud Run themselves (PORT = containerPort); a manifest must not. */
export const RESERVED_ENV: readonly string[] = [
  "PORT",
  "K_SERVICE",
  "K_CONFIGURATION",
  "K_REVISION",
];
/** Production needs: API keys (required by the manifests), a shared store, signed webhooks. */
export const REQUIRED_ENV: readonly string[] = ["DD_API_KEYS", "DD_STORE", "DD_WEBHOOK_SECRET"];
/** Needed with an s3:// store: core/store/s3_store.ts refuses to open without them. */
export const S3_ENV: readonly string[] = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"];
/** Only ever from a Secret, never a literal in a manifest. */
export const SECRET_ENV: readonly string[] = [
  "DD_API_KEYS",
  "DD_WEBHOOK_SECRET",
  "DD_INTERNAL_SECRET",
  ...S3_ENV,
  "AWS_SESSION_TOKEN",
  "HF_TOKEN",
  "HUGGING_FACE_HUB_TOKEN",
];

/** A parsed YAML / JSON object. */
export type Rec = Record<string, unknown>;
/** `x` as an object, or `{}`. */
export const rec = (x: unknown): Rec => (x !== null && typeof x === "object" ? x as Rec : {});
/** The value at `path` inside parsed YAML / JSON, or undefined. */
export const at = (x: unknown, ...path: (string | number)[]): unknown =>
  path.reduce<unknown>((o, k) => rec(o)[k], x);
/** A file's text, or null when it cannot be read. */
export const text = (p: string): Promise<string | null> => Deno.readTextFile(p).catch(() => null);

/** Facts taken from the code. */
export interface Facts {
  env: Set<string>;
  port: number;
  denoVersions: Map<string, string>;
  ortVersion: string | undefined;
  /** What `deno task serve` runs: the file and the flags before it. */
  serve: { file: string | undefined; flags: string[] };
  /** GET `path` without credentials, API keys configured: null if `want`ed, else why not. */
  probe: (path: string, want: number[]) => Promise<string | null>;
  /** Why a default model would not load (see deploy/_models.ts); empty when it would. */
  defaultModel: (m: ModelEnv) => Promise<string[]>;
}

function mountsOf(container: unknown): { mountPath: string; readOnly: boolean }[] {
  return ((at(container, "volumeMounts") as unknown[] | undefined) ?? []).map((v) => ({
    mountPath: String(at(v, "mountPath")),
    readOnly: at(v, "readOnly") === true,
  }));
}

function envOf(container: unknown): Map<string, { value?: string; secret: boolean }> {
  const out = new Map<string, { value?: string; secret: boolean }>();
  for (const e of (at(container, "env") as unknown[] | undefined) ?? []) {
    const secret = at(e, "valueFrom", "secretKeyRef") !== undefined;
    const value = at(e, "value");
    out.set(String(at(e, "name")), {
      secret,
      ...(value !== undefined ? { value: String(value) } : {}),
    });
  }
  return out;
}

/**
 * Checks one Service manifest.
 *
 * @param name Its path under deploy/ (`cloudrun/...` gets Cloud Run's extra rules).
 * @param doc The parsed YAML.
 * @param image The Dockerfile's ENV and EXPOSEd port.
 * @param f Facts from the code.
 * @param problems Where problems are added.
 * @returns The names of the variables it sets.
 */
export async function checkManifest(
  name: string,
  doc: unknown,
  image: { env: Map<string, string>; port: number; baked?: string[] },
  f: Facts,
  problems: string[],
): Promise<string[]> {
  const say = (m: string) => problems.push(`deploy/${name}: ${m}`);
  const cloudRun = name.startsWith("cloudrun/");
  if (at(doc, "kind") !== "Service" || at(doc, "apiVersion") !== "serving.knative.dev/v1") {
    say("expected a serving.knative.dev/v1 Service");
  }
  const spec = at(doc, "spec", "template", "spec");
  const notes = rec(at(doc, "spec", "template", "metadata", "annotations"));
  const containers = (at(spec, "containers") as unknown[] | undefined) ?? [];
  if (containers.length !== 1) {
    say(`expected one container, found ${containers.length}`);
    return [];
  }
  const c = containers[0];
  const port = Number(at(c, "ports", 0, "containerPort"));
  if (port !== f.port || port !== image.port) {
    say(`containerPort ${port} != server default ${f.port} / Dockerfile EXPOSE ${image.port}`);
  }
  const gpus = Number(at(c, "resources", "limits", "nvidia.com/gpu"));
  if (gpus !== 1) say(`resources.limits nvidia.com/gpu is ${gpus}, expected 1`);
  if (Number(at(spec, "containerConcurrency")) !== gpus) {
    say("containerConcurrency must be 1 per GPU");
  }
  const minScale = notes["autoscaling.knative.dev/min-scale"] ??
    notes["autoscaling.knative.dev/minScale"];
  if (minScale !== "0") say(`min-scale is ${minScale}, expected "0" (scale to zero)`);
  const maxScale = notes["autoscaling.knative.dev/max-scale"] ??
    notes["autoscaling.knative.dev/maxScale"];
  if (!(Number(maxScale) >= 1)) say("no max-scale annotation");
  if (cloudRun && !at(spec, "nodeSelector", "run.googleapis.com/accelerator")) {
    say("no nodeSelector run.googleapis.com/accelerator (the GPU type)");
  }
  const env = envOf(c);
  for (const [k, v] of env) {
    if (RESERVED_ENV.includes(k)) say(`sets ${k}, which the platform sets itself`);
    else if (!f.env.has(k) && !RUNTIME_ENV.includes(k)) say(`sets ${k}, which no code reads`);
    if (SECRET_ENV.includes(k) && !v.secret) {
      say(`${k} must come from a secretKeyRef, not a literal`);
    }
  }
  const store = env.get("DD_STORE")?.value ?? "";
  const required = [...REQUIRED_ENV, ...(store.startsWith("s3://") ? S3_ENV : [])];
  for (const k of required) if (!env.has(k)) say(`does not set ${k}, required in production`);
  if (env.has("DD_STORE") && !/^s3:\/\/[^/]+/.test(store)) {
    say(`DD_STORE ${store}: instances need one shared object store (s3://bucket/prefix)`);
  }
  const effective: Record<string, string> = Object.fromEntries(image.env);
  for (const [k, v] of env) effective[k] = v.value ?? "secret";
  try {
    const config = parseConfig(effective);
    if (/^(127\.|localhost$|::1$)/.test(config.host)) {
      say(`HOST ${config.host}: unreachable from outside`);
    }
    const timeout = Number(at(spec, "timeoutSeconds"));
    const appMs = config.requestTimeoutMs;
    if (!(timeout * 1000 > appMs)) {
      say(`timeoutSeconds ${timeout} must exceed DD_REQUEST_TIMEOUT_MS (${appMs} ms)`);
    }
    if (cloudRun && config.shutdownGraceMs >= 10_000) {
      say("DD_SHUTDOWN_GRACE_MS must be < 10000 on Cloud Run");
    }
    const model = { defaultModel: config.defaultModel, modelDir: config.modelDir };
    for (
      const why of await f.defaultModel({ ...model, env: effective, baked: image.baked ?? [] })
    ) {
      say(why);
    }
    for (const why of checkCacheDir(config.cacheDir, mountsOf(c))) say(why);
  } catch (e) {
    say((e as Error).message);
  }
  const probes = { readinessProbe: [200, 503], startupProbe: [200, 503], livenessProbe: [200] };
  const kinds = Object.keys(probes).filter((k) => at(c, k) !== undefined);
  if (!kinds.includes("livenessProbe") || kinds.length < 2) {
    say("needs a liveness and a readiness or startup probe");
  }
  for (const k of kinds as (keyof typeof probes)[]) {
    const path = String(at(c, k, "httpGet", "path"));
    const probePort = at(c, k, "httpGet", "port");
    if (probePort !== undefined && Number(probePort) !== port) {
      say(`${k} port ${probePort} != containerPort`);
    }
    const why = await f.probe(path, probes[k]);
    if (why) say(`${k} ${path}: ${why}`);
  }
  return [...env.keys()];
}
