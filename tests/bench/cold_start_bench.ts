/**
 * Cold start of the server on CPU with the embedded default model (dd-world-tiny): a fresh
 * `deno run ... functions/server.ts` process (modules already in the Deno cache), timed from
 * the spawn to its first `/healthz` 200 (listening), to `/readyz` 200 (default model loaded)
 * and to the end of the first `POST /v1/samples` (one 32×32 PNG at the model's default
 * steps), then a second sample (warm) for comparison. The distribution sampled is written into
 * the store before the spawn, with random tensors of the model's shapes (the timing does not
 * depend on their values). Repeated `RUNS` times (default 3); prints each run and the load.
 *
 *     nice -n 19 deno run -A tests/bench/cold_start_bench.ts
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { saveDistribution } from "../../core/artifacts/distribution_artifact.ts";
import { FsStore } from "../../core/store/fs_store.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const RUNS = Number(Deno.env.get("RUNS") ?? 3);
const [K, M, L, d] = [4, 2, 16, 64];
const loadavg = () => Deno.loadavg().map((x) => x.toFixed(2)).join(" ");

function freePort(): Promise<number> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return Promise.resolve(port);
}

async function until(url: string, status: number, t0: number): Promise<number> {
  for (;;) {
    try {
      const res = await fetch(url);
      await res.body?.cancel();
      if (res.status === status) return performance.now() - t0;
    } catch {
      // not listening yet
    }
    if (performance.now() - t0 > 300_000) throw new Error(`${url}: no ${status} in 300 s`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function run(i: number): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dd-cold-" });
  const store = new FsStore(join(dir, "store"));
  const rand = (n: number) => Float32Array.from({ length: n }, (_, j) => Math.sin(j) * 0.1);
  const id = "dd_coldstartbenchaaaaaa";
  await saveDistribution(store, {
    id,
    createdAt: new Date().toISOString(),
    model: { name: "dd-world-tiny", revision: "bench" },
    K,
    M,
    L,
    d,
    template: { prefix: "", suffix: "" },
    options: { steps: 1 },
    references: [],
    lossCurve: [1],
  }, {
    ctx: { data: rand(K * M * d), shape: [K, M, d] },
    mu: { data: rand(L * d), shape: [L, d] },
    sigma: { data: rand(L * d).map(Math.abs), shape: [L, d] },
  });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-q", "-A", "--unstable-no-legacy-abort", join(ROOT, "functions/server.ts")],
    cwd: ROOT,
    env: { PORT: String(port), HOST: "127.0.0.1", DD_STORE: join(dir, "store") },
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const listening = await until(`${base}/healthz`, 200, t0);
    const ready = await until(`${base}/readyz`, 200, t0);
    const sample = async () => {
      const res = await fetch(`${base}/v1/samples`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "image/png" },
        body: JSON.stringify({ distribution: id, n: 1, seed: 0 }),
      });
      const bytes = await res.arrayBuffer();
      if (res.status !== 200) {
        throw new Error(`sample: ${res.status} ${new TextDecoder().decode(bytes)}`);
      }
    };
    await sample();
    const first = performance.now() - t0;
    const t1 = performance.now();
    await sample();
    const warm = performance.now() - t1;
    const s = (ms: number) => (ms / 1000).toFixed(2);
    console.log(
      `run ${i + 1}: listening ${s(listening)} s, ready ${s(ready)} s, first sample done ` +
        `${s(first)} s (first sample ${s(first - ready)} s), warm sample ${s(warm)} s; ` +
        `load ${loadavg()}`,
    );
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
}

console.log(
  `cold start, dd-world-tiny on CPU, ${navigator.hardwareConcurrency} cores; load ${loadavg()}`,
);
for (let i = 0; i < RUNS; i++) await run(i);
