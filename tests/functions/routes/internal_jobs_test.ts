/**
 * Async training through the platform's queue, against local stand-ins: a Cloud Tasks API and
 * metadata server, and a Knative broker, on 127.0.0.1. The stand-ins record what they are sent
 * and deliver it to the app as the platform would (retrying a non-2xx answer on another
 * "instance" sharing the store). A run interrupted after a checkpoint resumes from it and ends
 * with the same loss curve as an uninterrupted run.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHmac } from "node:crypto";
import { resolveDeps } from "../../../functions/app.ts";
import { createApp } from "../../../functions/app.ts";
import { ApiError } from "../../../functions/errors.ts";
import { JOB_EVENT_TYPE } from "../../../functions/lib/job_dispatch.ts";
import { checkpointKey } from "../../../functions/lib/job_store.ts";
import { readJob } from "../../../functions/lib/jobs.ts";
import { parseConfig } from "../../../functions/config.ts";
import { b64, makeEngine, pngs, silent, testConfig } from "../_helpers.ts";

const SECRET = "internal-secret";
const QUEUE = "projects/p/locations/l/queues/q";
const OPTIONS = { K: 3, M: 2, S: 2, batchSize: 2, steps: 6, checkpointEvery: 2, seed: 3 };

interface Delivery {
  path: string;
  headers: Record<string, string>;
  body: Uint8Array;
}

/** Cloud Tasks + metadata server + Knative broker stand-in. */
function standIn(opts: { failTasks?: boolean } = {}) {
  const got: { tasks: unknown[]; auth: (string | null)[]; events: Delivery[] } = {
    tasks: [],
    auth: [],
    events: [],
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    if (url.pathname === "/computeMetadata/v1/instance/service-accounts/default/token") {
      if (req.headers.get("metadata-flavor") !== "Google") {
        return new Response(null, { status: 403 });
      }
      return Response.json({ access_token: "ya29.token", expires_in: 3599, token_type: "Bearer" });
    }
    if (req.method === "POST" && url.pathname === `/v2/${QUEUE}/tasks`) {
      got.auth.push(req.headers.get("authorization"));
      if (opts.failTasks) return Response.json({ error: { code: 500 } }, { status: 500 });
      const { task } = await req.json();
      got.tasks.push(task);
      return Response.json(task);
    }
    if (req.method === "POST" && url.pathname === "/broker") {
      got.events.push({
        path: "/internal/jobs/run",
        headers: Object.fromEntries(req.headers),
        body: new Uint8Array(await req.arrayBuffer()),
      });
      return new Response(null, { status: 202 });
    }
    return new Response("no", { status: 404 });
  });
  const base = `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}`;
  return { server, base, got };
}

/** A Cloud Tasks HTTP task as the request the platform would send. */
function fromTask(task: unknown): Delivery {
  const t = task as {
    httpRequest: { url: string; headers: Record<string, string>; body: string };
  };
  return {
    path: new URL(t.httpRequest.url).pathname,
    headers: t.httpRequest.headers,
    body: new Uint8Array(Buffer.from(t.httpRequest.body, "base64")),
  };
}

Deno.test("cloudtasks: a job is dispatched, runs as a signed internal request, resumes after an interruption", async () => {
  const side = standIn();
  const { engine, store, close } = await makeEngine();
  try {
    const env = {
      DD_JOB_DISPATCH: "cloudtasks",
      DD_INTERNAL_SECRET: SECRET,
      DD_CLOUD_TASKS_QUEUE: QUEUE,
      DD_CLOUD_TASKS_ENDPOINT: side.base,
      DD_CLOUD_TASKS_SERVICE_ACCOUNT: "tasks@p.iam.gserviceaccount.com",
      DD_SERVICE_URL: "https://dd.example.run.app",
      GCE_METADATA_HOST: side.base.slice("http://".length),
    };
    // Two "instances" sharing the store; A is reclaimed right after its first checkpoint.
    const stopA = new AbortController();
    const a = createApp(resolveDeps({
      engine,
      config: testConfig(env),
      log: silent,
      shutdownSignal: stopA.signal,
    }));
    const lines: [string, Record<string, unknown> | undefined][] = [];
    const b = createApp(resolveDeps({
      engine,
      config: testConfig(env),
      log: (_l, m, f) => lines.push([m, f]),
    }));
    const put = store.put.bind(store);
    const checkpoints: number[] = [];
    store.put = async (key, bytes, o) => {
      await put(key, bytes, o);
      if (key.endsWith("/checkpoint.json")) {
        checkpoints.push(JSON.parse(new TextDecoder().decode(bytes)).step);
      }
      if (key.endsWith("/checkpoint.json") && !stopA.signal.aborted) {
        stopA.abort(new ApiError(503, "shutting_down", "instance reclaimed"));
      }
    };
    const images = pngs(3);
    const accepted = await a.request("/v1/distributions", {
      method: "POST",
      headers: { "content-type": "application/json", prefer: "respond-async" },
      body: JSON.stringify({ images: images.map((i) => ({ base64: b64(i) })), options: OPTIONS }),
    });
    assert.equal(accepted.status, 202);
    const job = await accepted.json();
    assert.equal(job.status, "queued");
    // Dispatched, not run here: one task, created with the instance's token.
    assert.equal(side.got.tasks.length, 1);
    assert.deepEqual(side.got.auth, ["Bearer ya29.token"]);
    const task = side.got.tasks[0] as {
      name: string;
      httpRequest: { url: string; oidcToken?: unknown };
    };
    assert.equal(task.name, `${QUEUE}/tasks/${job.id}`);
    assert.equal(task.httpRequest.url, "https://dd.example.run.app/internal/jobs/run");
    assert.deepEqual(task.httpRequest.oidcToken, {
      serviceAccountEmail: "tasks@p.iam.gserviceaccount.com",
      audience: "https://dd.example.run.app",
    });
    const d = fromTask(task);
    const want = "sha256=" + createHmac("sha256", SECRET).update(d.body).digest("hex");
    assert.equal(d.headers["X-DD-Internal-Signature"], want);

    // Unsigned or wrongly signed: refused, nothing runs.
    const send = (app: typeof a, x: Delivery) =>
      app.request(x.path, {
        method: "POST",
        headers: x.headers,
        body: x.body as Uint8Array<ArrayBuffer>,
      });
    assert.equal((await send(a, { ...d, headers: {} })).status, 401);
    const forged = { ...d, headers: { "X-DD-Internal-Signature": "sha256=" + "0".repeat(64) } };
    assert.equal((await send(a, forged)).status, 401);

    // First delivery: A is reclaimed after the checkpoint at step 2; the platform gets 503.
    const first = await send(a, d);
    assert.equal(first.status, 503);
    const queued = (await readJob(store, job.id))!;
    assert.equal(queued.status, "queued");
    assert.equal(queued.error?.code, "shutting_down");
    assert.ok(await store.exists(checkpointKey(job.id)));

    // The retry lands on B and resumes from the checkpoint.
    const second = await send(b, d);
    assert.equal(second.status, 200);
    const done = (await readJob(store, job.id))!;
    assert.equal(done.status, "succeeded");
    const run = lines.find(([m]) => m === "job run");
    assert.equal(run?.[1]?.resumeFrom, 2);
    // A wrote the checkpoint of step 2; B went on from it (4, 6), not from the start.
    assert.deepEqual(checkpoints, [2, 4, 6]);
    const resumed = (await engine.get(done.manifestId!)).manifest;

    // The same training without interruption: the same loss curve, bit for bit.
    const straight = await engine.train({
      images: images.map((bytes) => ({ bytes })),
      options: OPTIONS,
    });
    assert.deepEqual(resumed.lossCurve, straight.lossCurve);

    // A duplicate delivery after success runs nothing.
    const again = await send(b, d);
    assert.equal(again.status, 200);
    assert.equal((await again.json()).job.manifestId, done.manifestId);
  } finally {
    await side.server.shutdown();
    await close();
  }
});

Deno.test("knative: the job goes to the broker as a CloudEvent the trigger delivers", async () => {
  const side = standIn();
  const { engine, store, close } = await makeEngine();
  try {
    const config = testConfig({
      DD_JOB_DISPATCH: "knative",
      DD_INTERNAL_SECRET: SECRET,
      DD_EVENTING_BROKER_URL: `${side.base}/broker`,
    });
    const app = createApp(resolveDeps({ engine, config, log: silent }));
    const accepted = await app.request("/v1/distributions", {
      method: "POST",
      headers: { "content-type": "application/json", prefer: "respond-async" },
      body: JSON.stringify({
        images: pngs(2).map((i) => ({ base64: b64(i) })),
        options: { ...OPTIONS, steps: 2 },
      }),
    });
    assert.equal(accepted.status, 202);
    const job = await accepted.json();
    assert.equal(side.got.events.length, 1);
    const ev = side.got.events[0]!;
    assert.equal(ev.headers["ce-type"], JOB_EVENT_TYPE);
    assert.equal(ev.headers["ce-id"], job.id);
    assert.equal(ev.headers["ce-specversion"], "1.0");
    // The broker forwards the CloudEvent's attributes as ce-* headers.
    const res = await app.request(ev.path, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "ce-ddsignature": ev.headers["ce-ddsignature"]!,
      },
      body: ev.body as Uint8Array<ArrayBuffer>,
    });
    assert.equal(res.status, 200);
    assert.equal((await readJob(store, job.id))!.status, "succeeded");
  } finally {
    await side.server.shutdown();
    await close();
  }
});

Deno.test("dispatch failures: 503 and a failed record; in-process mode refuses internal runs", async () => {
  const side = standIn({ failTasks: true });
  const { engine, store, close } = await makeEngine();
  try {
    const app = createApp(resolveDeps({
      engine,
      config: testConfig({
        DD_JOB_DISPATCH: "cloudtasks",
        DD_INTERNAL_SECRET: SECRET,
        DD_CLOUD_TASKS_QUEUE: QUEUE,
        DD_CLOUD_TASKS_ENDPOINT: side.base,
        DD_SERVICE_URL: "https://dd.example",
        GCE_METADATA_HOST: side.base.slice("http://".length),
      }),
      log: silent,
    }));
    const res = await app.request("/v1/distributions", {
      method: "POST",
      headers: { "content-type": "application/json", prefer: "respond-async" },
      body: JSON.stringify({ images: pngs(1).map((i) => ({ base64: b64(i) })) }),
    });
    assert.equal(res.status, 503);
    assert.equal((await res.json()).error.code, "dispatch_failed");
    const ids = (await store.list("jobs/")).filter((k) => /^jobs\/job_[a-z2-7]+\.json$/.test(k));
    assert.equal(ids.length, 1);
    const rec = JSON.parse(new TextDecoder().decode((await store.get(ids[0]!))!));
    assert.equal(rec.status, "failed");

    const local = createApp(resolveDeps({ engine, config: testConfig(), log: silent }));
    const body = JSON.stringify({ jobId: rec.id });
    const sig = "sha256=" + createHmac("sha256", "").update(body).digest("hex");
    const r = await local.request("/internal/jobs/run", {
      method: "POST",
      headers: { "X-DD-Internal-Signature": sig },
      body,
    });
    assert.equal(r.status, 401);
  } finally {
    await side.server.shutdown();
    await close();
  }
});

Deno.test("parseConfig(): a dispatch kind without its settings is refused, naming them", () => {
  assert.throws(
    () => parseConfig({ DD_JOB_DISPATCH: "cloudtasks" }),
    /needs DD_INTERNAL_SECRET, DD_CLOUD_TASKS_QUEUE, DD_SERVICE_URL/,
  );
  assert.throws(
    () => parseConfig({ DD_JOB_DISPATCH: "knative", DD_INTERNAL_SECRET: "s" }),
    /DD_EVENTING_BROKER_URL \(or K_SINK\)/,
  );
  const k = parseConfig({
    DD_JOB_DISPATCH: "knative",
    DD_INTERNAL_SECRET: "s",
    K_SINK: "http://b",
  });
  assert.deepEqual(k.dispatch, { kind: "knative", secret: "s", brokerUrl: "http://b" });
  assert.throws(() => parseConfig({ DD_CLOUD_TASKS_QUEUE: "q" }), /DD_CLOUD_TASKS_QUEUE/);
  assert.deepEqual(parseConfig({}).dispatch, { kind: "inprocess" });
});

Deno.test("a dispatched job is canceled: queued ones at once, running ones at their next progress update", async () => {
  const side = standIn();
  const { engine, store, close } = await makeEngine();
  try {
    const config = testConfig({
      DD_JOB_DISPATCH: "knative",
      DD_INTERNAL_SECRET: SECRET,
      DD_EVENTING_BROKER_URL: `${side.base}/broker`,
    });
    const app = createApp(resolveDeps({ engine, config, log: silent }));
    const submit = async () => {
      const r = await app.request("/v1/distributions", {
        method: "POST",
        headers: { "content-type": "application/json", prefer: "respond-async" },
        body: JSON.stringify({
          images: pngs(2).map((i) => ({ base64: b64(i) })),
          options: { ...OPTIONS, steps: 3000, checkpointEvery: 1000 },
        }),
      });
      return (await r.json()).id as string;
    };
    const deliver = (ev: Delivery) =>
      app.request(ev.path, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "ce-ddsignature": ev.headers["ce-ddsignature"]!,
        },
        body: ev.body as Uint8Array<ArrayBuffer>,
      });
    // Queued (not delivered yet): canceled at once; a later delivery runs nothing.
    const queued = await submit();
    const c1 = await app.request(`/v1/jobs/${queued}/cancel`, { method: "POST" });
    assert.equal(c1.status, 200);
    assert.equal((await c1.json()).status, "canceled");
    const late = await deliver(side.got.events[0]!);
    assert.equal(late.status, 200);
    assert.equal((await readJob(store, queued))!.status, "canceled");

    // Running: the cancel is a marker the run picks up.
    const running = await submit();
    const run = deliver(side.got.events[1]!);
    for (let i = 0; (await readJob(store, running))?.progress === undefined; i++) {
      assert.ok(i < 3000, "the job never reported progress");
      await new Promise((r) => setTimeout(r, 10));
    }
    const c2 = await app.request(`/v1/jobs/${running}/cancel`, { method: "POST" });
    assert.equal(c2.status, 202);
    await c2.body?.cancel();
    const res = await run;
    assert.equal(res.status, 200);
    const rec = (await readJob(store, running))!;
    assert.equal(rec.status, "canceled");
    assert.ok(rec.progress!.step < 3000);
    assert.deepEqual(await store.list("distributions/"), []);
  } finally {
    await side.server.shutdown();
    await close();
  }
});
