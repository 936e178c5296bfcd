/**
 * The served process keeps answering while it trains (model work in the worker): `/healthz`
 * stays fast and a disconnecting SSE client frees the queue at once. Loose bounds (the model
 * calls of the tiny fixture are short, but building its training graph on the HTTP thread
 * held `/healthz` for seconds); the figures are measured in
 * tests/bench/serve_responsiveness_bench.ts.
 */
import assert from "node:assert/strict";
import { startServerProcess } from "../helpers/server_process.ts";
import { b64, pngs } from "./_helpers.ts";

const ARM = Deno.env.get("DD_TEST_MODEL_WORKER") ?? "1";

Deno.test({
  name: "served: /healthz answers within 500 ms all through a training; SIGTERM exits at once",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const store = await Deno.makeTempDir({ prefix: "dd-worker-" });
  // No graph cache: the training builds its graph (seconds of JavaScript) in this run.
  const server = await startServerProcess(store, {
    DD_MODEL_WORKER: ARM,
    DD_SHUTDOWN_GRACE_MS: "0",
  });
  try {
    const acc = await fetch(`${server.base}/v1/distributions`, {
      method: "POST",
      body: JSON.stringify({
        images: pngs(2).map((p) => ({ base64: b64(p) })),
        options: { K: 8, M: 2, S: 4, batchSize: 4, steps: 5000 },
      }),
      headers: { "Content-Type": "application/json", Prefer: "respond-async" },
    });
    const job = await acc.json();
    let worst = 0;
    let steps = 0;
    const end = performance.now() + 8000;
    while (performance.now() < end && steps < 3) {
      const t = performance.now();
      const r = await fetch(`${server.base}/healthz`);
      await r.body?.cancel();
      worst = Math.max(worst, performance.now() - t);
      steps = (await (await fetch(`${server.base}/v1/jobs/${job.id}`)).json()).progress?.step ?? 0;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(worst < 500, `/healthz took ${Math.round(worst)} ms during the training`);
    const t = performance.now();
    server.child.kill("SIGTERM");
    assert.equal((await server.status).code, 0);
    const exitMs = performance.now() - t;
    assert.ok(exitMs < 5000, `exit ${Math.round(exitMs)} ms after SIGTERM`);
    // Drained: the job is recorded as failed by the shutdown, nothing partial is stored.
    const rec = JSON.parse(await Deno.readTextFile(`${store}/jobs/${job.id}.json`));
    assert.equal(rec.status, "failed");
    assert.equal(rec.error.code, "shutting_down");
    const dists = await Array.fromAsync(Deno.readDir(store)).then(
      (es) => es.filter((e) => e.name === "distributions"),
    );
    assert.deepEqual(dists, [], "no partial artifact");
    console.log(`worst /healthz ${Math.round(worst)} ms; SIGTERM to exit ${Math.round(exitMs)} ms`);
  } finally {
    try {
      server.child.kill("SIGKILL");
    } catch { /* exited */ }
    await server.status;
    await Deno.remove(store, { recursive: true });
  }
});
