import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import type { Manifest } from "../../../core/artifacts/distribution_artifact.ts";
import { FsStore } from "../../../core/store/fs_store.ts";
import { ApiError } from "../../../functions/errors.ts";
import type { TrainProgress } from "../../../core/distribution/train.ts";
import { JobRunner, readJob } from "../../../functions/lib/jobs.ts";
import { verifyStandard } from "../../../functions/lib/webhook.ts";
import { WorkQueue } from "../../../functions/middleware/queue/index.ts";

function runner(store: FsStore, hooks: { body: string; sig: string | null }[]) {
  const fakeFetch = ((_u: string | URL | Request, init?: RequestInit) => {
    hooks.push({
      body: new TextDecoder().decode(init?.body as Uint8Array),
      sig: new Headers(init?.headers).get("X-DD-Signature"),
    });
    return Promise.resolve(new Response(null, { status: 200 }));
  }) as typeof fetch;
  return new JobRunner({
    store,
    log: () => {},
    net: { allowPrivate: true, timeoutMs: 1000, fetch: fakeFetch },
    webhookSecret: "sec",
    timeoutMs: 60_000,
    webhookBackoffMs: [1, 1],
  });
}

/** Waits (bounded) until a job's stored record has `status`: no fixed sleep to race a loaded machine. */
async function untilStatus(store: FsStore, id: string, status: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await readJob(store, id))?.status !== status) {
    if (Date.now() > deadline) throw new Error(`job ${id} never reached ${status}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

Deno.test("JobRunner records a failure without internals and posts a signed webhook", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = new FsStore(dir);
    const hooks: { body: string; sig: string | null }[] = [];
    const jobs = runner(store, hooks);
    const q = new WorkQueue();
    const job = await jobs.submit(
      q.tryReserve()!,
      () => Promise.reject(new Error("ENOENT /secret/path")),
      "http://h/x",
    );
    assert.equal(job.status, "queued");
    await jobs.idle();
    const rec = await readJob(store, job.id);
    assert.equal(rec?.status, "failed");
    assert.equal(rec?.error?.code, "internal");
    assert.ok(!rec?.error?.message.includes("secret"));
    assert.deepEqual(rec?.webhook, { status: "delivered", attempts: 1 });
    assert.equal(hooks.length, 1);
    assert.equal(
      hooks[0]!.sig,
      "sha256=" + createHmac("sha256", "sec").update(hooks[0]!.body).digest("hex"),
    );
    assert.equal(JSON.parse(hooks[0]!.body).type, "job.failed");
    assert.equal(q.reserved, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("JobRunner.shutdown() cancels running and queued jobs and records them as failed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = new FsStore(dir);
    const jobs = runner(store, []);
    const q = new WorkQueue({ concurrency: 1, maxWaiting: 1 });
    const forever = (signal: AbortSignal) =>
      new Promise<Manifest>((_, reject) =>
        signal.addEventListener("abort", () => reject(new Error("training cancelled")))
      );
    const a = await jobs.submit(q.tryReserve()!, forever);
    const b = await jobs.submit(q.tryReserve()!, forever);
    await untilStatus(store, a.id, "running");
    await jobs.shutdown(10);
    for (const id of [a.id, b.id]) {
      const rec = await readJob(store, id);
      assert.equal(rec?.status, "failed", id);
      assert.equal(rec?.error?.code, "shutting_down", id);
    }
    await assert.rejects(
      jobs.submit(q.tryReserve()!, forever),
      (e) => e instanceof ApiError && e.status === 503,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Work that runs until its signal aborts, then rejects with the reason. */
const untilAborted = (signal: AbortSignal) =>
  new Promise<Manifest>((_, reject) => {
    signal.addEventListener("abort", () => reject(signal.reason));
  });

async function withStore(f: (store: FsStore) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await f(new FsStore(dir));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("JobRunner.cancel() stops a running job and a queued one; both end canceled", async () => {
  await withStore(async (store) => {
    const jobs = runner(store, []);
    const q = new WorkQueue({ concurrency: 1, maxWaiting: 1 });
    const a = await jobs.submit(q.tryReserve()!, untilAborted);
    const b = await jobs.submit(q.tryReserve()!, untilAborted);
    await untilStatus(store, a.id, "running");
    assert.equal((await readJob(store, a.id))?.status, "running");
    assert.equal((await readJob(store, b.id))?.status, "queued");
    for (const id of [b.id, a.id]) {
      const r = await jobs.cancel(id);
      assert.equal(r?.final, true, id);
      assert.equal(r?.record.status, "canceled", id);
      assert.equal(r?.record.lease, undefined, id);
    }
    assert.equal(q.reserved, 0);
    // Finished: cancel reports it as it is.
    assert.deepEqual((await jobs.cancel(a.id))?.final, true);
    assert.equal(await jobs.cancel("job_aaaaaaaaaaaaaaaaaaaa"), null);
  });
});

Deno.test("JobRunner: a job running on another instance is canceled through its heartbeat", async () => {
  await withStore(async (store) => {
    const owner = runner(store, []);
    const other = runner(store, []);
    const job = await owner.submit(new WorkQueue().tryReserve()!, untilAborted);
    await untilStatus(store, job.id, "running");
    const asked = await other.cancel(job.id);
    assert.equal(asked?.final, false);
    assert.equal(asked?.record.status, "running");
    await owner.heartbeat();
    await owner.idle();
    assert.equal((await readJob(store, job.id))?.status, "canceled");
    assert.equal(await store.exists(`jobs/${job.id}/cancel.json`), false);
  });
});

Deno.test("JobRunner: the heartbeat renews the lease; an expired lease reads as worker_lost and frees the key", async () => {
  await withStore(async (store) => {
    const dead = new JobRunner({
      store,
      log: () => {},
      net: { allowPrivate: true, timeoutMs: 1000 },
      webhookSecret: "",
      timeoutMs: 60_000,
      leaseMs: 150,
    });
    const idem = "idempotency/abc.json";
    await store.put(idem, new TextEncoder().encode("{}"));
    const job = await dead.submit(
      new WorkQueue().tryReserve()!,
      untilAborted,
      undefined,
      undefined,
      idem,
    );
    await untilStatus(store, job.id, "running");
    const first = (await readJob(store, job.id))!.lease!;
    assert.equal(first.owner, dead.instanceId);
    await new Promise((r) => setTimeout(r, 5));
    await dead.heartbeat();
    const renewed = (await readJob(store, job.id))!.lease!;
    assert.ok(Date.parse(renewed.expiresAt) > Date.parse(first.expiresAt));
    // Another instance sees the job alive while the lease holds, lost once it has run out.
    const reader = runner(store, []);
    assert.equal((await reader.get(job.id))?.status, "running");
    // Simulate kill -9: the record stays as the dead process left it.
    const frozen = (await readJob(store, job.id))!;
    await dead.shutdown(0);
    await store.put(`jobs/${job.id}.json`, new TextEncoder().encode(JSON.stringify(frozen)));
    await store.put(idem, new TextEncoder().encode("{}"));
    await new Promise((r) => setTimeout(r, 200));
    const lost = await reader.get(job.id);
    assert.equal(lost?.status, "failed");
    assert.equal(lost?.error?.code, "worker_lost");
    assert.equal(lost?.lease, undefined);
    assert.equal(await store.exists(idem), false);
    assert.equal((await readJob(store, job.id))?.status, "failed");
  });
});

Deno.test("JobRunner.list() pages job records in creation order and skips corrupt ones", async () => {
  await withStore(async (store) => {
    const jobs = runner(store, []);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const j = await jobs.submit(new WorkQueue().tryReserve()!, () => Promise.reject(new Error()));
      ids.push(j.id);
      await new Promise((r) => setTimeout(r, 3));
    }
    await jobs.idle();
    await store.put(`jobs/${ids[2]}/input.json`, new TextEncoder().encode("{}"));
    await store.put("jobs/job_zzzzzzzzzzzzzzzzzzzz.json", new TextEncoder().encode("{not json"));
    assert.deepEqual([...ids].sort(), ids, "ids sort by creation time");
    const p1 = await jobs.list({ limit: 2 });
    assert.deepEqual(p1.items.map((j) => j.id), ids.slice(0, 2));
    assert.equal(p1.next, ids[1]);
    const p2 = await jobs.list({ limit: 2, after: p1.next! });
    assert.deepEqual(p2.items.map((j) => j.id), ids.slice(2, 4));
    const p3 = await jobs.list({ limit: 2, after: p2.next! });
    assert.deepEqual(p3.items.map((j) => j.id), ids.slice(4));
    assert.equal(p3.next, null);
  });
});

Deno.test("JobRunner sends the subscribed webhooks in order, progress throttled, Standard-signed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = new FsStore(dir);
    const seen: { body: string; headers: Headers }[] = [];
    const fakeFetch = ((_u: string | URL | Request, init?: RequestInit) => {
      seen.push({
        body: new TextDecoder().decode(init?.body as Uint8Array),
        headers: new Headers(init?.headers),
      });
      return Promise.resolve(new Response(null, { status: 200 }));
    }) as typeof fetch;
    const make = (progressMs: number) =>
      new JobRunner({
        store,
        log: () => {},
        net: { allowPrivate: true, timeoutMs: 1000, fetch: fakeFetch },
        webhookSecret: "whsec_" + btoa("a key of twenty-four byt"),
        timeoutMs: 60_000,
        webhookBackoffMs: [1],
        webhookProgressMs: progressMs,
      });
    const manifest = {
      format: "dreamdistribution/1",
      id: "dd_x",
      createdAt: new Date(0).toISOString(),
      model: { name: "m", revision: "r" },
      K: 2,
      M: 1,
      L: 4,
      d: 8,
      template: { prefix: "", suffix: "" },
      options: { batchSize: 2 },
      references: [],
      lossCurve: [1],
      files: { "prompts.safetensors": { sha256: "0".repeat(64), size: 1 } },
    } as Manifest;
    // 20 progress reports, 5 ms apart; throttled to one per 40 ms.
    const work = async (_s: AbortSignal, onProgress: (p: TrainProgress) => void) => {
      for (let step = 1; step <= 20; step++) {
        onProgress({ step, steps: 20, loss: 1 / step, etaSeconds: 0 } as TrainProgress);
        await new Promise((r) => setTimeout(r, 5));
      }
      return manifest;
    };
    const q = new WorkQueue();
    let jobs = make(40);
    await jobs.submit(q.tryReserve()!, work, "http://h/x", ["start", "progress", "completed"]);
    await jobs.idle();
    const mine = () => seen.map((s) => JSON.parse(s.body));
    const types = mine().map((b) => b.type);
    assert.equal(types[0], "job.running");
    assert.equal(types.at(-1), "job.succeeded");
    const progress = types.filter((t) => t === "job.progress").length;
    assert.ok(progress >= 1 && progress <= 4, `progress webhooks: ${progress} of 20 reports`);
    assert.equal(types.length, progress + 2);
    assert.ok(mine().every((b) => typeof b.timestamp === "string"));
    assert.deepEqual(mine().at(-1).manifest.options, { batch_size: 2 }, "snake_case manifest");
    const p = mine().find((b) => b.type === "job.progress");
    assert.equal(p.job.progress.steps, 20);
    // Jobs in webhooks are snake_case, like every answer.
    assert.equal(typeof p.job.progress.eta_seconds, "number");
    assert.equal(typeof p.job.created_at, "string");
    assert.equal(mine().at(-1).job.manifest_id, "dd_x");
    assert.equal(p.job.createdAt, undefined);
    for (const s of seen) {
      assert.ok(
        await verifyStandard(
          "whsec_" + btoa("a key of twenty-four byt"),
          s.headers,
          new TextEncoder().encode(s.body),
        ),
      );
    }
    const ids = new Set(seen.map((s) => s.headers.get("webhook-id")));
    assert.equal(ids.size, seen.length, "one webhook-id per message");

    // Default: completed only; a filter without completed sends no final webhook.
    seen.length = 0;
    jobs = make(0);
    const a = await jobs.submit(q.tryReserve()!, work, "http://h/x");
    const b = await jobs.submit(q.tryReserve()!, work, "http://h/x", ["start"]);
    await jobs.idle();
    const byJob = (id: string) =>
      seen.map((s) => JSON.parse(s.body)).filter((x) => x.job.id === id).map((x) => x.type);
    assert.deepEqual(byJob(a.id), ["job.succeeded"]);
    assert.deepEqual(byJob(b.id), ["job.running"]);
    assert.equal((await readJob(store, b.id))?.webhook, undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
