/**
 * How the served process answers while it trains (issue 13, class 3): `deno task serve` as a
 * child process on 127.0.0.1 over a temp folder store and the embedded default model
 * (dd-world-tiny), once with model work in the worker (the default) and once on the main
 * thread (`DD_MODEL_WORKER=0`). Per arm:
 *
 * 1. `/healthz` latency (sequential GETs, 20 ms apart) for `SECONDS` (default 20) during an
 *    async training with the model's default options: p50, p99, max;
 * 2. `POST /v1/jobs/{id}/cancel` answered-in time for that training;
 * 3. client disconnect: a sync training (queue size 0) whose client aborts after 3 s; time
 *    until the work queue admits a request again (the training has stopped);
 * 4. SIGTERM during an async training, `DD_SHUTDOWN_GRACE_MS=1000`: time to process exit.
 *
 * Run: `deno run -A tests/bench/serve_responsiveness_bench.ts [worker|main ...]`.
 */
import { encodePng } from "../../core/images/encode.ts";
import { startServerProcess } from "../helpers/server_process.ts";
import { discImages } from "../helpers/tiny_model.ts";

const SECONDS = Number(Deno.env.get("SECONDS") ?? 20);
const arms = Deno.args.length > 0 ? Deno.args : ["worker", "main"];

const images = discImages(4).map((i) => {
  let s = "";
  for (const b of encodePng(i)) s += String.fromCharCode(b);
  return { base64: btoa(s) };
});
const train = (headers: Record<string, string> = {}, signal?: AbortSignal): RequestInit => ({
  method: "POST",
  body: JSON.stringify({ images, options: {} }),
  headers: { "Content-Type": "application/json", ...headers },
  ...(signal ? { signal } : {}),
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

async function waitRunning(base: string, id: string): Promise<void> {
  for (;;) {
    const j = await (await fetch(`${base}/v1/jobs/${id}`)).json();
    if (j.status === "running" && (j.progress?.step ?? 0) >= 1) return;
    if (j.status !== "queued" && j.status !== "running") throw new Error(JSON.stringify(j));
    await sleep(100);
  }
}

for (const arm of arms) {
  const store = await Deno.makeTempDir({ prefix: "dd-bench-serve-" });
  const env = {
    DD_MODEL_DIR: "",
    DD_MODEL_WORKER: arm === "worker" ? "1" : "0",
    DD_QUEUE_SIZE: "0",
    DD_SHUTDOWN_GRACE_MS: "1000",
  };
  let server = await startServerProcess(store, env);
  try {
    // 1. /healthz during a training.
    const job = await (await fetch(
      `${server.base}/v1/distributions`,
      train({
        Prefer: "respond-async",
      }),
    )).json();
    await waitRunning(server.base, job.id);
    const lat: number[] = [];
    const end = performance.now() + SECONDS * 1000;
    while (performance.now() < end) {
      const t = performance.now();
      const r = await fetch(`${server.base}/healthz`);
      await r.body?.cancel();
      lat.push(performance.now() - t);
      await sleep(20);
    }
    // 2. Cancel.
    let t = performance.now();
    const c = await fetch(`${server.base}/v1/jobs/${job.id}/cancel`, { method: "POST" });
    const cancelMs = performance.now() - t;
    const canceled = (await c.json()).status;

    // 3. Client disconnect of a sync training.
    const ctl = new AbortController();
    const sync = fetch(`${server.base}/v1/distributions`, train({}, ctl.signal)).catch(() => {});
    await sleep(3000);
    ctl.abort();
    t = performance.now();
    let freeMs = NaN;
    for (let i = 0; i < 2000; i++) {
      const r = await fetch(`${server.base}/v1/embeddings`, {
        method: "POST",
        body: "{}",
        headers: { "Content-Type": "application/json" },
      });
      await r.body?.cancel();
      if (r.status !== 429) {
        freeMs = performance.now() - t;
        break;
      }
      await sleep(10);
    }
    await sync;

    // 4. SIGTERM during a training.
    const job2 = await (await fetch(
      `${server.base}/v1/distributions`,
      train({
        Prefer: "respond-async",
      }),
    )).json();
    await waitRunning(server.base, job2.id);
    t = performance.now();
    server.child.kill("SIGTERM");
    const code = (await server.status).code;
    const termMs = performance.now() - t;
    console.log(JSON.stringify({
      arm,
      healthz: {
        n: lat.length,
        p50: +pct(lat, 0.5).toFixed(1),
        p99: +pct(lat, 0.99).toFixed(1),
        max: +Math.max(...lat).toFixed(1),
      },
      cancelMs: Math.round(cancelMs),
      canceled,
      disconnectToFreeMs: Math.round(freeMs),
      sigtermToExitMs: Math.round(termMs),
      exitCode: code,
    }));
    server = { ...server, child: { kill() {} } as unknown as Deno.ChildProcess };
  } finally {
    try {
      server.child.kill("SIGKILL");
    } catch { /* exited */ }
    await server.status;
    await Deno.remove(store, { recursive: true });
  }
}
