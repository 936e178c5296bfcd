/**
 * kill -9 of the real server (a child process on 127.0.0.1 over a folder store) during an
 * async and a sync training, then a restart over the same store: no job stays `running`, the
 * Idempotency-Keys are freed within one lease, stray temp files are removed, and nothing
 * partial is left in `distributions/`.
 */
import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServerProcess } from "../helpers/server_process.ts";
import { b64, pngs, TINY } from "./_helpers.ts";

const LEASE_MS = 1500;
const env = {
  DD_LEASE_MS: String(LEASE_MS),
  DD_CACHE_DIR: join(tmpdir(), "dd-functions-test-graphs"),
};

const train = (steps: number, key: string, async: boolean): RequestInit => ({
  method: "POST",
  body: JSON.stringify({
    images: pngs(2).map((p) => ({ base64: b64(p) })),
    options: { ...TINY, steps },
  }),
  headers: {
    "Content-Type": "application/json",
    "Idempotency-Key": key,
    ...(async ? { Prefer: "respond-async" } : {}),
  },
});

async function poll<T>(f: () => Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 1500; i++) {
    const v = await f();
    if (ok(v)) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, rel: string) => {
    const entries = await Array.fromAsync(Deno.readDir(d)).catch(() => [] as Deno.DirEntry[]);
    for (const e of entries) {
      if (e.isDirectory) await walk(join(d, e.name), rel + e.name + "/");
      else out.push(rel + e.name);
    }
  };
  await walk(dir, "");
  return out.sort();
}

Deno.test({
  name: "kill -9 during an async training: the job is reported worker_lost, its key trains again",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const store = await Deno.makeTempDir({ prefix: "dd-crash-" });
  let server = await startServerProcess(store, env);
  try {
    const acc = await fetch(`${server.base}/v1/distributions`, train(5000, "crash-async", true));
    assert.equal(acc.status, 202);
    const job = await acc.json();
    await poll(
      async () => await (await fetch(`${server.base}/v1/jobs/${job.id}`)).json(),
      (j) => j.status === "running" && (j.progress?.step ?? 0) >= 1,
      "the job to run",
    );
    server.child.kill("SIGKILL");
    await server.status;
    // What a kill in the middle of a write leaves: a temp file beside the key.
    const stray = join(store, "jobs", ".~0123456789abcdef01234567");
    await Deno.writeTextFile(stray, "{");
    await Deno.utime(stray, new Date(Date.now() - 3600_000), new Date(Date.now() - 3600_000));

    server = await startServerProcess(store, env);
    const restarted = performance.now();
    const lost = await poll(
      async () => await (await fetch(`${server.base}/v1/jobs/${job.id}`)).json(),
      (j) => j.status !== "running",
      "the job to be reported lost",
    );
    const lostAfterMs = performance.now() - restarted;
    assert.equal(lost.status, "failed");
    assert.equal(lost.error.code, "worker_lost");
    assert.ok(lostAfterMs < LEASE_MS + 2000, `reported lost after ${lostAfterMs} ms`);
    const listed = await (await fetch(`${server.base}/v1/jobs`)).json();
    assert.deepEqual(listed.items.map((j: { status: string }) => j.status), ["failed"]);

    // The key is free: the retry starts a new job (then cancel it: it is long).
    const retry = await fetch(`${server.base}/v1/distributions`, train(5000, "crash-async", true));
    assert.equal(retry.status, 202);
    assert.equal(retry.headers.get("Idempotent-Replayed"), null);
    const fresh = await retry.json();
    assert.notEqual(fresh.id, job.id);
    const cancel = await fetch(`${server.base}/v1/jobs/${fresh.id}/cancel`, { method: "POST" });
    assert.equal(cancel.status, 200);
    assert.equal((await cancel.json()).status, "canceled");

    // A graceful stop after one lease: the temp files of the killed process are swept too.
    await new Promise((r) => setTimeout(r, LEASE_MS + 300));
    server.child.kill("SIGTERM");
    assert.equal((await server.status).code, 0);
    const left = await files(store);
    assert.ok(!left.some((f) => f.includes(".~")), `temp files left: ${left}`);
    assert.ok(!left.some((f) => f.startsWith("distributions/")), `partial artifact: ${left}`);
    console.log(`async: lost reported ${Math.round(lostAfterMs)} ms after restart; store: ${left}`);
  } finally {
    try {
      server.child.kill("SIGKILL");
    } catch { /* exited already */ }
    await server.status;
    await Deno.remove(store, { recursive: true });
  }
});

Deno.test({
  name: "kill -9 during a sync training: its Idempotency-Key is free again within one lease",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const store = await Deno.makeTempDir({ prefix: "dd-crash-" });
  let server = await startServerProcess(store, env);
  try {
    const steps = 60;
    const pending = fetch(`${server.base}/v1/distributions`, train(steps, "crash-sync", false))
      .then((r) => r.status, (e) => `rejected: ${(e as Error).name}`);
    await poll(() => files(store), (f) => f.some((k) => k.startsWith("idempotency/")), "key");
    await new Promise((r) => setTimeout(r, 300));
    server.child.kill("SIGKILL");
    await server.status;
    assert.match(String(await pending), /^rejected/, "the client sees the connection drop");

    server = await startServerProcess(store, env);
    const restarted = performance.now();
    const statuses: number[] = [];
    let sentAt = 0;
    const res = await poll(
      async () => {
        sentAt = performance.now();
        const r = await fetch(`${server.base}/v1/distributions`, train(steps, "crash-sync", false));
        statuses.push(r.status);
        if (r.status === 409) {
          assert.ok(Number(r.headers.get("Retry-After")) <= Math.ceil(LEASE_MS / 1000));
          await r.body?.cancel();
          await new Promise((r) => setTimeout(r, 200));
        }
        return r;
      },
      (r) => r.status !== 409,
      "the key to be free",
    );
    const freeAfterMs = sentAt - restarted;
    assert.ok(freeAfterMs < LEASE_MS + 2000, `key free after ${freeAfterMs} ms`);
    assert.equal(res.status, 201, await res.clone().text());
    const m = await res.json();
    const left = await files(store);
    assert.deepEqual(
      left.filter((f) => f.startsWith("distributions/")),
      [`distributions/${m.id}/manifest.json`, `distributions/${m.id}/prompts.safetensors`],
    );
    console.log(
      `sync: retried key answered ${[...new Set(statuses)]}; the request that trained was ` +
        `sent ${Math.round(freeAfterMs)} ms after restart (lease ${LEASE_MS} ms)`,
    );
  } finally {
    try {
      server.child.kill("SIGKILL");
    } catch { /* exited already */ }
    await server.status;
    await Deno.remove(store, { recursive: true });
  }
});
