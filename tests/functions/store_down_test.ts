/**
 * A store that is down: the S3 endpoint refuses connections (nothing listens on its port).
 * Every store-backed request answers 503 `store_unavailable` with a Retry-After, after the
 * client's bounded retries, never a 500 or a hang; /readyz says 503 `store_unavailable`; a
 * training is refused before any model work leaves anything behind.
 */
import assert from "node:assert/strict";
import { Engine } from "../../core/engine/engine.ts";
import { S3Store } from "../../core/store/s3_store.ts";
import { createApp, resolveDeps } from "../../functions/app.ts";
import { Readiness } from "../../functions/lib/readiness.ts";
import { SD2_DIR } from "../helpers/tiny_model.ts";
import { postJson, silent, testConfig } from "./_helpers.ts";

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
  const engine = new Engine({
    store,
    resolveModel: () => Promise.resolve({ dir: SD2_DIR, revision: "fixture" }),
    defaultModel: "tiny-sd2-fixture",
    cacheDir: null,
  });
  const readiness = new Readiness(() => Promise.resolve());
  await readiness.start();
  const deps = resolveDeps({ engine, config: testConfig(), log: silent, readiness });
  const app = createApp(deps);
  try {
    const requests: [string, RequestInit | undefined][] = [
      ["/v1/distributions/dd_a", undefined],
      ["/v1/distributions", undefined],
      ["/v1/samples", postJson({ distribution: "dd_a", steps: 1 })],
      ["/v1/distributions/dd_a", { method: "DELETE" }],
    ];
    for (const [path, init] of requests) {
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
