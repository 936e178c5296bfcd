/**
 * `deno task deploy:check`: passes on the repository's deploy files, and names the problem on
 * mutated copies of them (temp folders; the code they are checked against stays the real one).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { checkDeploy } from "../../deploy/check.ts";
import * as P from "../../deploy/_parse.ts";
import { CR, expectProblems, KN, mutated, ROOT } from "./_mutate.ts";

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
