/**
 * Fault class 7: a hung store, and a store that is down. Every store operation has a deadline:
 * a frozen S3 endpoint (a loopback server that accepts and never answers) fails the request with
 * 504 `store_timeout` within about the deadline, never holding it for minutes. An endpoint that
 * refuses connections answers 503 `store_unavailable` after the bounded retries. In both cases
 * /readyz reports 503 `store_unavailable`.
 */
import assert from "node:assert/strict";
import { Engine } from "../../core/engine/engine.ts";
import { FsStore } from "../../core/store/fs_store.ts";
import { S3Store } from "../../core/store/s3_store.ts";
import { type Store, StoreError, withDeadline } from "../../core/store/store.ts";
import { createApp, resolveDeps } from "../../functions/app.ts";
import { Readiness } from "../../functions/lib/readiness.ts";
import { hungServer } from "../helpers/hung_server.ts";
import { SD2_DIR } from "../helpers/tiny_model.ts";
import { postJson, silent, testConfig } from "./_helpers.ts";

const credentials = { accessKeyId: "k", secretAccessKey: "s" };

function hungStore(endpoint: string, deadlineMs: number): S3Store {
  return new S3Store({ bucket: "frozen", endpoint, credentials, deadlineMs, retryBaseMs: 5 });
}

Deno.test("S3Store: every operation on a hung endpoint fails with timeout at its deadline", async () => {
  const server = hungServer();
  const store = hungStore(server.endpoint, 400);
  try {
    const ops: [string, () => Promise<unknown>][] = [
      ["get", () => store.get("a")],
      ["put", () => store.put("a", new Uint8Array(3))],
      ["exists", () => store.exists("a")],
      ["delete", () => store.delete("a")],
      ["list", () => store.list("")],
    ];
    for (const [name, op] of ops) {
      const t0 = performance.now();
      await assert.rejects(op(), (e) => e instanceof StoreError && e.code === "timeout", name);
      const ms = performance.now() - t0;
      assert.ok(ms >= 350 && ms < 2000, `${name} took ${ms} ms`);
    }
    assert.ok(server.accepted() >= 1);
  } finally {
    server.close();
  }
});

Deno.test("FsStore: an operation that hangs fails with timeout at its deadline", async () => {
  const never = new Promise<never>(() => {});
  await assert.rejects(
    withDeadline(never, 50, "get 'k'"),
    (e) => e instanceof StoreError && e.code === "timeout",
  );
  const dir = await Deno.makeTempDir();
  const store = new FsStore(dir, { deadlineMs: 1000 });
  await store.put("a/b", new Uint8Array([1]));
  assert.deepEqual(await store.get("a/b"), new Uint8Array([1]));
  await Deno.remove(dir, { recursive: true });
});

/** The app over `store` (tiny fixture model, readiness started) and what it must release. */
async function appOver(store: Store) {
  const engine = new Engine({
    store,
    resolveModel: () => Promise.resolve({ dir: SD2_DIR, revision: "fixture" }),
    defaultModel: "tiny-sd2-fixture",
    cacheDir: null,
  });
  const readiness = new Readiness(() => Promise.resolve());
  await readiness.start();
  const deps = resolveDeps({ engine, config: testConfig(), log: silent, readiness });
  return { app: createApp(deps), deps, engine, readiness };
}

/** Every store-backed route: get, list, sample, delete. */
const STORE_REQUESTS: [string, RequestInit | undefined][] = [
  ["/v1/distributions/dd_a", undefined],
  ["/v1/distributions", undefined],
  ["/v1/samples", postJson({ distribution: "dd_a", steps: 1 })],
  ["/v1/distributions/dd_a", { method: "DELETE" }],
];

Deno.test("HTTP over a hung store: 504 store_timeout in about the deadline, /readyz 503", async () => {
  const server = hungServer();
  const { app, deps, engine, readiness } = await appOver(hungStore(server.endpoint, 500));
  try {
    for (const [path, init] of STORE_REQUESTS) {
      const t0 = performance.now();
      const res = await app.request(path, init);
      const ms = performance.now() - t0;
      const body = await res.json();
      assert.equal(res.status, 504, `${path}: ${JSON.stringify(body)}`);
      assert.equal(body.error.code, "store_timeout");
      assert.ok(res.headers.get("Retry-After"));
      assert.ok(ms < 3000, `${path} took ${ms} ms`);
    }
    const t0 = performance.now();
    const ready = await app.request("/readyz");
    assert.equal(ready.status, 503);
    assert.equal((await ready.json()).error.code, "store_unavailable");
    assert.ok(performance.now() - t0 < 3000);
  } finally {
    await deps.jobs.idle();
    await engine.close();
    server.close();
  }
  // a healthy store: ready
  const dir = await Deno.makeTempDir();
  const ok = createApp(resolveDeps({
    engine: new Engine({
      store: new FsStore(dir),
      resolveModel: () => Promise.resolve({ dir: SD2_DIR, revision: "fixture" }),
      defaultModel: "tiny-sd2-fixture",
      cacheDir: null,
    }),
    config: testConfig(),
    log: silent,
    readiness,
  }));
  assert.equal((await ok.request("/readyz")).status, 200);
  await Deno.remove(dir, { recursive: true });
});

/** A loopback port with nothing listening on it. */
function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test("HTTP over a store that is down: 503 store_unavailable, /readyz 503, no hang", async () => {
  const store = new S3Store({
    bucket: "down",
    endpoint: `http://127.0.0.1:${closedPort()}`,
    credentials: { accessKeyId: "k", secretAccessKey: "s" },
    deadlineMs: 5000,
    retryBaseMs: 5,
  });
  const { app, deps, engine } = await appOver(store);
  try {
    for (const [path, init] of STORE_REQUESTS) {
      const t0 = performance.now();
      const res = await app.request(path, init);
      const ms = performance.now() - t0;
      const body = await res.json();
      assert.equal(res.status, 503, `${path}: ${JSON.stringify(body)}`);
      assert.equal(body.error.code, "store_unavailable");
      assert.ok(res.headers.get("Retry-After"), path);
      assert.ok(ms < 4000, `${path} took ${ms} ms`);
    }
    const ready = await app.request("/readyz");
    assert.equal(ready.status, 503);
    assert.equal((await ready.json()).error.code, "store_unavailable");
  } finally {
    await deps.jobs.idle();
    await engine.close();
  }
});
