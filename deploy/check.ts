/**
 * `deno task deploy:check`: checks deploy/ against the code. The facts come from the code
 * itself (functions/config.ts's variables and defaults, the app's routes, every
 * `Deno.env.get` / `env.X` in core/ and functions/, deno.json, the README's and CI's Deno
 * version), so the check stays true as the code changes. Prints `deploy:check: OK (...)` or one
 * line per problem and exits 1.
 *
 * @example
 * ```sh
 * deno task deploy:check                    # the repository's deploy/
 * deno run -A deploy/check.ts --deploy DIR  # another copy of deploy/ (tests)
 * ```
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parse as parseYaml } from "yaml";
import type { Engine } from "../core/engine/engine.ts";
import { openStore } from "../core/store/open.ts";
import { createApp } from "../functions/app.ts";
import { ENV_NAMES, parseConfig } from "../functions/config.ts";
import * as P from "./_parse.ts";

/** Read by Deno or the NVIDIA runtime rather than the project: the image or a manifest may set them. */
export const RUNTIME_ENV: readonly string[] = [
  "DENO_DIR",
  "DENO_NO_UPDATE_CHECK",
  "DENO_V8_FLAGS",
  "NVIDIA_VISIBLE_DEVICES",
  "NVIDIA_DRIVER_CAPABILITIES",
];
/** Set by Knative / Cloud Run themselves (PORT = containerPort); a manifest must not. */
const RESERVED_ENV = ["PORT", "K_SERVICE", "K_CONFIGURATION", "K_REVISION"];
/** Production needs: API keys (required by the manifests), a shared store, signed webhooks. */
const REQUIRED_ENV = ["DD_API_KEYS", "DD_STORE", "DD_WEBHOOK_SECRET"];
/** Needed with an s3:// store: core/store/s3_store.ts refuses to open without them. */
const S3_ENV = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"];
/** Only ever from a Secret, never a literal in a manifest. */
const SECRET_ENV = [
  "DD_API_KEYS",
  "DD_WEBHOOK_SECRET",
  ...S3_ENV,
  "AWS_SESSION_TOKEN",
  "HF_TOKEN",
  "HUGGING_FACE_HUB_TOKEN",
];
const BASE_IMAGE = /^nvidia\/cuda:12\.\d+\.\d+-cudnn\d*-runtime-ubuntu22\.04$/;
const MANIFESTS = ["knative/service.yaml", "cloudrun/service.yaml"];

/** Where to look. */
export interface CheckOptions {
  /** Repository root (the Docker build context); default: the one holding this file. */
  root?: string;
  /** The deploy folder to check; default `<root>/deploy`. */
  deploy?: string;
  /** The .dockerignore to check; default `<root>/.dockerignore`. */
  dockerignore?: string;
}

type Rec = Record<string, unknown>;
const rec = (x: unknown): Rec => (x !== null && typeof x === "object" ? x as Rec : {});
const at = (x: unknown, ...path: (string | number)[]): unknown =>
  path.reduce<unknown>((o, k) => rec(o)[k], x);
const text = (p: string) => Deno.readTextFile(p).catch(() => null);

/** Facts taken from the code. */
interface Facts {
  env: Set<string>;
  port: number;
  denoVersions: Map<string, string>;
  ortVersion: string | undefined;
  serveEntry: string | undefined;
  /** Status of GET path without credentials, API keys configured. */
  status: (path: string) => Promise<number>;
}

async function codeFacts(root: string, problems: string[]): Promise<Facts> {
  const env = new Set(ENV_NAMES);
  for (const dir of ["core", "functions"]) {
    for (const f of await P.tsFiles(root, dir)) {
      for (const n of P.envReads(await Deno.readTextFile(join(root, f)))) env.add(n);
    }
  }
  const denoJson = rec(JSON.parse(await Deno.readTextFile(join(root, "deno.json"))));
  const ort = /^npm:onnxruntime-node@(.+)$/.exec(
    String(at(denoJson, "imports", "onnxruntime-node")),
  );
  const serve = /deno run .*?(\S+\.ts)/.exec(String(at(denoJson, "tasks", "serve")))?.[1];
  const denoVersions = new Map<string, string>();
  for (const f of ["README.md", ".ci/run"]) {
    for (const m of (await text(join(root, f)) ?? "").matchAll(/deno@(\d+\.\d+\.\d+)/g)) {
      denoVersions.set(`${f} (deno@${m[1]})`, m[1]!);
    }
  }
  if (new Set(denoVersions.values()).size > 1) {
    problems.push(`the Deno versions disagree: ${[...denoVersions.keys()].join(", ")}`);
  }
  const engine = {
    options: { store: await openStore("/nonexistent/deploy-check"), defaultModel: "check" },
    model: () => new Promise<never>(() => {}),
  } as unknown as Engine;
  const app = createApp({ engine, config: parseConfig({ DD_API_KEYS: "check" }), log: () => {} });
  const status = async (path: string) => (await app.request(path)).status;
  return {
    env,
    port: parseConfig({}).port,
    denoVersions,
    ortVersion: ort?.[1],
    serveEntry: serve,
    status,
  };
}

async function checkImage(root: string, o: Required<CheckOptions>, f: Facts, problems: string[]) {
  const say = (m: string) => problems.push(`deploy/Dockerfile: ${m}`);
  const src = await text(join(o.deploy, "Dockerfile"));
  if (src === null) {
    say("missing");
    return { env: new Map<string, string>(), port: NaN };
  }
  const ins = P.parseDockerfile(src);
  const all = (cmd: string) => ins.filter((i) => i.cmd === cmd);
  const args = new Map(all("ARG").flatMap((i) => [...P.parseAssignments(i.args)]));
  const env = new Map(all("ENV").flatMap((i) => [...P.parseAssignments(i.args)]));
  const from = all("FROM").map((i) => i.args.split(/\s+/)[0]!);
  if (from.length !== 1 || !BASE_IMAGE.test(from[0]!)) {
    say(
      `base image ${
        from.join(", ")
      }: expected one pinned nvidia/cuda:12.x.y-cudnn-runtime-ubuntu22.04`,
    );
  }
  const deno = args.get("DENO_VERSION");
  for (const [where, v] of f.denoVersions) if (v !== deno) say(`DENO_VERSION ${deno} != ${where}`);
  if (deno === undefined) say("no ARG DENO_VERSION");
  const ort = args.get("ORT_NODE_VERSION");
  if (ort !== f.ortVersion) {
    say(`ORT_NODE_VERSION ${ort} != deno.json's onnxruntime-node ${f.ortVersion}`);
  }
  if (args.get("ONNXRUNTIME_NODE_INSTALL") !== "cuda12") {
    say("ARG ONNXRUNTIME_NODE_INSTALL=cuda12 missing: the CUDA provider would not be installed");
  }
  if (!all("RUN").some((i) => i.args.includes("--allow-scripts=npm:onnxruntime-node"))) {
    say("no RUN with --allow-scripts=npm:onnxruntime-node: its install script would not run");
  }
  const expose = all("EXPOSE").flatMap((i) => i.args.split(/\s+/)).map((p) => parseInt(p, 10));
  if (expose.length !== 1 || expose[0] !== f.port) {
    say(`EXPOSE ${expose.join(" ")} != the server's default port ${f.port}`);
  }
  const user = all("USER").at(-1)?.args.split(":")[0];
  if (user === undefined || user === "root" || user === "0") say("runs as root (no USER)");
  for (const [k, v] of env) {
    if (!f.env.has(k) && !RUNTIME_ENV.includes(k)) say(`ENV ${k}: no code reads it`);
    if (k === "PORT" && Number(v) !== f.port) say(`ENV PORT=${v} != EXPOSE ${f.port}`);
  }
  const hc = all("HEALTHCHECK").at(-1)?.args ?? "";
  const hcPath = /https?:\/\/[^/\s"]+(\/[^\s"]*)/.exec(hc)?.[1];
  if (!hcPath) say("no HEALTHCHECK with an http URL");
  else if ((await f.status(hcPath)) !== 200) {
    say(`HEALTHCHECK ${hcPath}: not 200 without an API key`);
  }
  let entry: string[] = [];
  try {
    entry = JSON.parse(all("ENTRYPOINT").at(-1)?.args ?? "[]");
  } catch {
    say("ENTRYPOINT is not in exec form (JSON): SIGTERM would not reach Deno");
  }
  const file = entry.find((a) => a.endsWith(".ts"));
  if (entry[0] !== "deno" || entry[1] !== "run" || !file) {
    say(`ENTRYPOINT ${entry.join(" ")}: expected deno run ... FILE.ts`);
  } else if (!(await Deno.stat(join(root, file)).catch(() => null))) {
    say(`ENTRYPOINT file ${file} does not exist`);
  } else if (file !== f.serveEntry) {
    say(`ENTRYPOINT runs ${file}, deno task serve runs ${f.serveEntry}`);
  }
  const ignore = await text(o.dockerignore);
  if (ignore === null) {
    problems.push(".dockerignore: missing at the build context's root");
    return { env, port: expose[0]! };
  }
  const rules = P.parseDockerignore(ignore);
  const needed = ["deno.json", "deno.lock", ...(file ? [file] : [])];
  for (const dir of ["core", "functions"]) {
    for (const p of await P.tsFiles(root, dir)) {
      needed.push(p, ...P.selfRelativePaths(p, await Deno.readTextFile(join(root, p))));
    }
  }
  for (const cp of all("COPY").filter((i) => !i.args.includes("--from"))) {
    needed.push(
      ...cp.args.split(/\s+/).filter((a) => !a.startsWith("--")).slice(0, -1).filter((a) =>
        a !== "."
      ),
    );
  }
  for (const p of new Set(needed)) {
    if (!(await Deno.stat(join(root, p)).catch(() => null))) {
      say(`COPY/needed path ${p} does not exist`);
    } else if (P.isIgnored(rules, p)) {
      problems.push(`.dockerignore: excludes ${p}, which the server needs`);
    }
  }
  for (const p of ["node_modules", ".git", ".data"]) {
    if (!P.isIgnored(rules, p)) problems.push(`.dockerignore: sends ${p} to the build`);
  }
  return { env, port: expose[0]! };
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

async function checkManifest(
  name: string,
  doc: unknown,
  image: { env: Map<string, string>; port: number },
  f: Facts,
  problems: string[],
) {
  const say = (m: string) => problems.push(`deploy/${name}: ${m}`);
  const cloudRun = name.startsWith("cloudrun/");
  if (at(doc, "kind") !== "Service" || at(doc, "apiVersion") !== "serving.knative.dev/v1") {
    say("expected a serving.knative.dev/v1 Service");
  }
  const spec = at(doc, "spec", "template", "spec");
  const notes = rec(at(doc, "spec", "template", "metadata", "annotations"));
  const containers = (at(spec, "containers") as unknown[] | undefined) ?? [];
  if (containers.length !== 1) return say(`expected one container, found ${containers.length}`);
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
    if (!(timeout * 1000 > config.requestTimeoutMs)) {
      say(
        `timeoutSeconds ${timeout} must exceed DD_REQUEST_TIMEOUT_MS (${config.requestTimeoutMs} ms)`,
      );
    }
    if (cloudRun && config.shutdownGraceMs >= 10_000) {
      say("DD_SHUTDOWN_GRACE_MS must be < 10000 on Cloud Run");
    }
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
    const s = await f.status(path);
    if (!probes[k].includes(s)) {
      say(`${k} ${path}: the app answers ${s} without an API key (want ${probes[k].join("/")})`);
    }
  }
  return [...env.keys()];
}

async function checkReadme(deploy: string, f: Facts, set: Set<string>, problems: string[]) {
  const md = await text(join(deploy, "README.md")) ?? "";
  const table = new Set([...md.matchAll(/^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|/gm)].map((m) => m[1]!));
  for (const n of table) {
    if (!f.env.has(n) && !RUNTIME_ENV.includes(n)) {
      problems.push(`deploy/README.md: documents ${n}, which no code reads`);
    }
  }
  for (const n of [...ENV_NAMES, ...set]) {
    if (!table.has(n)) problems.push(`deploy/README.md: the environment table lacks ${n}`);
  }
}

/**
 * Runs every check.
 *
 * @param options Where the repository and the deploy files are.
 * @returns The problems found, one sentence each; empty when all is well.
 */
export async function checkDeploy(options: CheckOptions = {}): Promise<string[]> {
  const root = options.root ?? fileURLToPath(new URL("..", import.meta.url));
  const o = {
    root,
    deploy: join(root, "deploy"),
    dockerignore: join(root, ".dockerignore"),
    ...options,
  };
  const problems: string[] = [];
  const facts = await codeFacts(root, problems);
  const image = await checkImage(root, o, facts, problems);
  const set = new Set(image.env.keys());
  for (const name of MANIFESTS) {
    const src = await text(join(o.deploy, name));
    if (src === null) {
      problems.push(`deploy/${name}: missing`);
      continue;
    }
    let doc: unknown;
    try {
      doc = parseYaml(src);
    } catch (e) {
      problems.push(`deploy/${name}: YAML: ${(e as Error).message.split("\n")[0]}`);
      continue;
    }
    for (const k of await checkManifest(name, doc, image, facts, problems) ?? []) set.add(k);
  }
  await checkReadme(o.deploy, facts, set, problems);
  return problems;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { deploy: { type: "string" }, dockerignore: { type: "string" } },
  });
  const problems = await checkDeploy({
    ...(values.deploy ? { deploy: values.deploy } : {}),
    ...(values.dockerignore ? { dockerignore: values.dockerignore } : {}),
  });
  if (problems.length === 0) {
    console.log(`deploy:check: OK (Dockerfile, .dockerignore, ${MANIFESTS.join(", ")}, README)`);
  } else {
    for (const p of problems) console.log(`deploy:check: ${p}`);
  }
  Deno.exit(problems.length === 0 ? 0 : 1);
}
