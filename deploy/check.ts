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
 * deno run -A deploy/check.ts --lock FILE   # default models against another models.lock
 * ```
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { type EngineApi, openStore, type Store } from "../core/engine/mod.ts";
import { defineTask, runMain, str, type TaskMain } from "../core/tasks/mod.ts";
import { createApp, ENV_NAMES, parseConfig } from "../functions/mod.ts";
import * as P from "./_parse.ts";
import { at, checkManifest, type Facts, rec, RUNTIME_ENV, text } from "./_manifest.ts";
import { checkDefaultModel } from "./_models.ts";
import { checkTrigger } from "./_trigger.ts";

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
  /** The models.lock the default models are checked against; default `<root>/models.lock`. */
  lockPath?: string;
}

async function codeFacts(root: string, lockPath: string, problems: string[]): Promise<Facts> {
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
  const serveArgs = String(at(denoJson, "tasks", "serve")).split(/\s+/);
  const serveAt = serveArgs.findIndex((a) => a.endsWith(".ts"));
  const serve = {
    file: serveArgs[serveAt],
    flags: serveArgs.slice(0, Math.max(serveAt, 0)).filter((a) => a.startsWith("-")),
  };
  const denoVersions = new Map<string, string>();
  for (const f of ["README.md", ".ci/run"]) {
    for (const m of (await text(join(root, f)) ?? "").matchAll(/deno@(\d+\.\d+\.\d+)/g)) {
      denoVersions.set(`${f} (deno@${m[1]})`, m[1]!);
    }
  }
  if (new Set(denoVersions.values()).size > 1) {
    problems.push(`the Deno versions disagree: ${[...denoVersions.keys()].join(", ")}`);
  }
  const engine = offlineEngine(await openStore("/nonexistent/deploy-check"));
  const app = (keys: string) =>
    createApp({ engine, config: parseConfig({ DD_API_KEYS: keys }), log: () => {} });
  const [keyed, open] = [app("check"), app("")];
  const probe = async (path: string, want: number[]) => {
    const s = (await keyed.request(path)).status;
    if (want.includes(s)) return null;
    const exists = (await open.request(path)).status !== 404;
    const what = exists ? `the app answers ${s} without an API key` : "no such route";
    return `${what} (want ${want.join("/")})`;
  };
  return {
    env,
    port: parseConfig({}).port,
    denoVersions,
    ortVersion: ort?.[1],
    serve,
    probe,
    defaultModel: (m) => checkDefaultModel(root, m, lockPath),
  };
}

async function checkImage(root: string, o: Required<CheckOptions>, f: Facts, problems: string[]) {
  const say = (m: string) => problems.push(`deploy/Dockerfile: ${m}`);
  const src = await text(join(o.deploy, "Dockerfile"));
  if (src === null) {
    say("missing");
    return { env: new Map<string, string>(), port: NaN, baked: [] };
  }
  const ins = P.parseDockerfile(src);
  const all = (cmd: string) => ins.filter((i) => i.cmd === cmd);
  const args = new Map(all("ARG").flatMap((i) => [...P.parseAssignments(i.args)]));
  const env = new Map(all("ENV").flatMap((i) => [...P.parseAssignments(i.args)]));
  const baked = (args.get("BAKE_MODELS") ?? "").split(/\s+/).filter((m) => m !== "");
  const from = all("FROM").map((i) => i.args.split(/\s+/)[0]!);
  if (from.length !== 1 || !BASE_IMAGE.test(from[0]!)) {
    const want = "one pinned nvidia/cuda:12.x.y-cudnn-runtime-ubuntu22.04";
    say(`base image ${from.join(", ")}: expected ${want}`);
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
  if (user === undefined || user === "root" || user === "0") {
    say(`runs as root (USER ${user ?? "not set"})`);
  }
  for (const [k, v] of env) {
    if (!f.env.has(k) && !RUNTIME_ENV.includes(k)) say(`ENV ${k}: no code reads it`);
    if (k === "PORT" && Number(v) !== f.port) say(`ENV PORT=${v} != EXPOSE ${f.port}`);
  }
  const hc = all("HEALTHCHECK").at(-1)?.args ?? "";
  const hcPath = /https?:\/\/[^/\s"]+(\/[^\s"]*)/.exec(hc)?.[1];
  if (!hcPath) say("no HEALTHCHECK with an http URL");
  else {
    const why = await f.probe(hcPath, [200]);
    if (why) say(`HEALTHCHECK ${hcPath}: ${why}`);
  }
  let entry: string[] = [];
  try {
    const parsed: unknown = JSON.parse(all("ENTRYPOINT").at(-1)?.args ?? "[]");
    if (Array.isArray(parsed) && parsed.every((a) => typeof a === "string")) entry = parsed;
  } catch {
    say("ENTRYPOINT is not in exec form (JSON): SIGTERM would not reach Deno");
  }
  const file = entry.find((a) => a.endsWith(".ts"));
  if (entry[0] !== "deno" || entry[1] !== "run" || !file) {
    say(`ENTRYPOINT ${entry.join(" ")}: expected deno run ... FILE.ts`);
  } else if (!(await Deno.stat(join(root, file)).catch(() => null))) {
    say(`ENTRYPOINT file ${file} does not exist`);
  } else if (file !== f.serve.file) {
    say(`ENTRYPOINT runs ${file}, deno task serve runs ${f.serve.file}`);
  }
  for (const flag of f.serve.flags) {
    if (!entry.slice(0, entry.indexOf(file ?? "")).includes(flag)) {
      say(`ENTRYPOINT lacks ${flag}, which deno task serve passes`);
    }
  }
  const ignore = await text(o.dockerignore);
  if (ignore === null) {
    problems.push(".dockerignore: missing at the build context's root");
    return { env, port: expose[0]!, baked };
  }
  const rules = P.parseDockerignore(ignore);
  const needed = ["deno.json", "deno.lock", ...(file ? [file] : [])];
  for (const dir of ["core", "functions"]) {
    for (const p of await P.tsFiles(root, dir)) {
      needed.push(p, ...P.selfRelativePaths(p, await Deno.readTextFile(join(root, p))));
    }
  }
  const lock = rec(JSON.parse(await text(join(root, "models.lock")) ?? "{}"));
  for (const entry of Object.values(rec(lock.models))) {
    const dir = at(entry, "source", "path");
    if (typeof dir !== "string") continue;
    const files = Object.keys(rec(at(entry, "files"))).map((file) => `${dir}/${file}`);
    const out = files.filter((p) => P.isIgnored(rules, p));
    if (out.length > 0) {
      problems.push(
        `.dockerignore: excludes ${dir} (${out.length} of the ${files.length} files models.lock ` +
          `pins there), which the server needs`,
      );
    }
  }
  for (const cp of all("COPY").filter((i) => !i.args.includes("--from"))) {
    const sources = cp.args.split(/\s+/).filter((a) => !a.startsWith("--")).slice(0, -1);
    needed.push(...sources.filter((a) => a !== "."));
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
  return { env, port: expose[0]!, baked };
}

async function checkReadme(deploy: string, f: Facts, set: Set<string>, problems: string[]) {
  const md = await text(join(deploy, "README.md")) ?? "";
  const table = new Set([...md.matchAll(/^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|/gm)].map((m) => m[1]!));
  for (const n of table) {
    if (!f.env.has(n) && !RUNTIME_ENV.includes(n)) {
      problems.push(`deploy/README.md: documents ${n}, which no code reads`);
    }
  }
  for (const n of new Set([...ENV_NAMES, ...set])) {
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
    lockPath: join(root, "models.lock"),
    ...options,
  };
  const problems: string[] = [];
  const facts = await codeFacts(root, o.lockPath, problems);
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
    for (const k of await checkManifest(name, doc, image, facts, problems)) set.add(k);
    if (name.startsWith("knative/")) await checkTrigger(o.deploy, doc, problems);
  }
  await checkReadme(o.deploy, facts, set, problems);
  return problems;
}

/** `deno task deploy:check` as a task: exit code 0 when deploy/ matches the code, else 1. */
export const main: TaskMain = defineTask({
  usage: "usage: deno task deploy:check [--deploy DIR] [--dockerignore FILE] [--lock FILE]",
  about: "Checks deploy/ (Dockerfile, .dockerignore, the service manifests, the README) against\n" +
    "the code. Prints `deploy:check: OK (...)` or one line per problem and exits 1.",
  options: {
    deploy: { type: "string", arg: "DIR", default: "deploy", help: "the deploy folder to check" },
    dockerignore: {
      type: "string",
      arg: "FILE",
      default: ".dockerignore",
      help: "the .dockerignore to check",
    },
    lock: { type: "string", arg: "FILE", default: "models.lock", help: "the models.lock" },
  },
  run: async ({ values, io }) => {
    const deploy = str(values, "deploy"), lock = str(values, "lock");
    const dockerignore = str(values, "dockerignore");
    const problems = await checkDeploy({
      ...(deploy ? { deploy } : {}),
      ...(lock ? { lockPath: lock } : {}),
      ...(dockerignore ? { dockerignore } : {}),
    });
    if (problems.length === 0) {
      io.out(`deploy:check: OK (Dockerfile, .dockerignore, ${MANIFESTS.join(", ")}, README)`);
    } else {
      for (const p of problems) io.out(`deploy:check: ${p}`);
    }
    return problems.length === 0 ? 0 : 1;
  },
});

/**
 * The engine behind the route probes: its model never finishes loading (the app stays not
 * ready) and every other operation fails (a probe that reaches one answers 500).
 */
function offlineEngine(store: Store): EngineApi {
  const fail = () => Promise.reject(new Error("deploy check: no engine"));
  return {
    options: { store, defaultModel: "check" },
    model: () => new Promise<never>(() => {}),
    train: fail,
    sample: fail,
    embeddings: fail,
    get: fail,
    list: fail,
    page: fail,
    manifest: fail,
    storeSamples: fail,
    trainBudgetBytes: fail,
    sampleBudgetBytes: fail,
    delete: fail,
    browserModel: fail,
    parameters: fail,
    close: () => Promise.resolve(),
  };
}

if (import.meta.main) await runMain(main);
