import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import type { Manifest } from "../../../core/artifacts/distribution_artifact.ts";
import { FsStore } from "../../../core/store/fs_store.ts";
import { ApiError } from "../../../functions/errors.ts";
import { JobRunner, readJob } from "../../../functions/lib/jobs.ts";
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
