/** GET /v1/jobs, POST /v1/jobs/{id}/cancel, and async replays that show the job as it is now. */
import assert from "node:assert/strict";
import { newJobId } from "../../../functions/lib/job_record.ts";
import { b64, makeApp, pngs, postJson, TINY } from "../_helpers.ts";

const asyncTrain = (options: unknown, headers: Record<string, string> = {}) =>
  postJson({
    images: pngs(2).map((p) => ({ base64: b64(p) })),
    options,
  }, { Prefer: "respond-async", ...headers });

async function waitFor<T>(f: () => Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 3000; i++) {
    const v = await f();
    if (ok(v)) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

Deno.test("POST /v1/jobs/{id}/cancel stops a running training at its next step and saves nothing", async () => {
  const { app, deps, store, close } = await makeApp();
  try {
    const acc = await app.request("/v1/distributions", asyncTrain({ ...TINY, steps: 2000 }));
    assert.equal(acc.status, 202);
    const job = await acc.json();
    await waitFor(
      async () => await (await app.request(`/v1/jobs/${job.id}`)).json(),
      (j) => j.status === "running" && (j.progress?.step ?? 0) >= 1,
      "the job to run",
    );
    const res = await app.request(`/v1/jobs/${job.id}/cancel`, { method: "POST" });
    assert.equal(res.status, 200);
    const canceled = await res.json();
    assert.equal(canceled.status, "canceled");
    assert.ok(canceled.progress.step < 2000);
    assert.equal(canceled.lease, undefined, "internal fields are not served");
    assert.deepEqual(await store.list("distributions/"), [], "no partial artifact");
    assert.equal(deps.queue.reserved, 0);
    const again = await app.request(`/v1/jobs/${job.id}/cancel`, { method: "POST" });
    assert.equal(again.status, 200, "canceling a canceled job is idempotent");
    await again.body?.cancel();
  } finally {
    await close();
  }
});

Deno.test("GET /v1/jobs pages jobs; cancel answers 409 for a finished job, 404 for none", async () => {
  const { app, deps, close } = await makeApp();
  try {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await app.request("/v1/distributions", asyncTrain(TINY));
      ids.push((await r.json()).id);
      await deps.jobs.idle();
    }
    const p1 = await (await app.request("/v1/jobs?limit=2")).json();
    assert.deepEqual(p1.items.map((j: { id: string }) => j.id), ids.slice(0, 2));
    assert.equal(p1.next, ids[1]);
    const p2 = await (await app.request(`/v1/jobs?limit=2&after=${p1.next}`)).json();
    assert.deepEqual(p2.items.map((j: { id: string; status: string }) => [j.id, j.status]), [
      [ids[2], "succeeded"],
    ]);
    assert.equal(p2.next, null);
    const bad = await app.request("/v1/jobs?after=nope");
    assert.equal(bad.status, 400);
    await bad.body?.cancel();
    const done = await app.request(`/v1/jobs/${ids[0]}/cancel`, { method: "POST" });
    assert.equal(done.status, 409);
    assert.equal((await done.json()).error.code, "job_finished");
    const none = await app.request(`/v1/jobs/${newJobId()}/cancel`, { method: "POST" });
    assert.equal(none.status, 404);
    await none.body?.cancel();
  } finally {
    await close();
  }
});

Deno.test("an async replay returns the job as it is now; a lost job's key trains again", async () => {
  const { app, deps, store, close } = await makeApp();
  try {
    const key = { "Idempotency-Key": "async-replay-1" };
    const first = await app.request("/v1/distributions", asyncTrain(TINY, key));
    assert.equal(first.status, 202);
    const job = await first.json();
    assert.equal(job.status, "queued");
    await deps.jobs.idle();
    const replay = await app.request("/v1/distributions", asyncTrain(TINY, key));
    assert.equal(replay.status, 202);
    assert.equal(replay.headers.get("Idempotent-Replayed"), "true");
    const now = await replay.json();
    assert.equal(now.id, job.id);
    assert.equal(now.status, "succeeded");
    assert.ok(now.manifest_id);

    // The instance running a job died (kill -9): its record says running, its lease ran out.
    const key2 = { "Idempotency-Key": "async-replay-2" };
    const acc = await app.request("/v1/distributions", asyncTrain(TINY, key2));
    const lostId = (await acc.json()).id;
    await deps.jobs.idle();
    const rec = JSON.parse(new TextDecoder().decode((await store.get(`jobs/${lostId}.json`))!));
    rec.status = "running";
    rec.lease = { owner: "dead-instance", expiresAt: new Date(Date.now() - 1).toISOString() };
    delete rec.manifestId;
    await store.put(`jobs/${lostId}.json`, new TextEncoder().encode(JSON.stringify(rec)));
    const lost = await (await app.request(`/v1/jobs/${lostId}`)).json();
    assert.equal(lost.status, "failed");
    assert.equal(lost.error.code, "worker_lost");
    const retry = await app.request("/v1/distributions", asyncTrain(TINY, key2));
    assert.equal(retry.status, 202);
    assert.equal(retry.headers.get("Idempotent-Replayed"), null);
    const fresh = await retry.json();
    assert.notEqual(fresh.id, lostId);
    await deps.jobs.idle();
    assert.equal((await (await app.request(`/v1/jobs/${fresh.id}`)).json()).status, "succeeded");
  } finally {
    await close();
  }
});
