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
    await new Promise((r) => setTimeout(r, 20));
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
