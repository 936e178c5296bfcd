/**
 * POST /v1/samples over real HTTP (createApp + Deno.serve on 127.0.0.1, FsStore in a temp dir,
 * the tiny fixture model on ONNX Runtime CPU): requests/s and p50/p99 latency at 1, 2, 4 and 8
 * concurrent clients, each sending its requests one after another; then the HTTP layer's
 * overhead against a direct core call (`engine.sample` + `encodePng`, what the handler does),
 * the two interleaved at concurrency 1.
 *
 * Server settings come from the environment with the config defaults (so `DD_CONCURRENCY` 1:
 * concurrent requests wait in the work queue), except `DD_QUEUE_SIZE`, 64 unless set, so that 8
 * clients never meet a 429.
 */
import { join } from "node:path";
import { Engine } from "../../core/engine/engine.ts";
import { encodePng } from "../../core/images/encode.ts";
import { SchedulerKind } from "../../core/schedulers/scheduler.ts";
import { FsStore } from "../../core/store/fs_store.ts";
import { createApp } from "../../functions/app.ts";
import { parseConfig } from "../../functions/config.ts";
import { toSampleRequest } from "../../functions/lib/sample_input.ts";
import { discImages, SD2_DIR } from "../helpers/tiny_model.ts";

/** Denoising steps per request (n = 1, JSON output with a base64 PNG). */
const STEPS = 4;
/** [clients, requests per client]: fewer per client as clients grow, to bound the run. */
const LEVELS: readonly [number, number][] = [[1, 16], [2, 10], [4, 6], [8, 4]];
/** No new request is started in a level after this long. */
const LEVEL_BUDGET_MS = 30_000;
/** Direct/HTTP pairs for the overhead (plus warm-up). */
const PAIRS = 30;

/** Nearest-rank percentile. */
function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
}

const loadavg = () => Deno.loadavg().map((x) => x.toFixed(2)).join(" ");
const loadAtStart = loadavg();
const dir = await Deno.makeTempDir({ prefix: "dd-http-bench-" });
const config = parseConfig({
  DD_QUEUE_SIZE: "64",
  ...Deno.env.toObject(),
  HOST: "127.0.0.1",
  PORT: "0",
  DD_STORE: join(dir, "store"),
});
const engine = new Engine({
  store: new FsStore(join(dir, "store")),
  resolveModel: () => Promise.resolve({ dir: SD2_DIR, revision: "fixture" }),
  defaultModel: "tiny-sd2-fixture",
  cacheDir: join(dir, "graphs"),
});
const app = createApp({ engine, config, log: () => {} });
const server = Deno.serve(
  { hostname: config.host, port: config.port, onListen: () => {} },
  app.fetch,
);
const base = `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}`;

try {
  const t0 = performance.now();
  const { id } = await engine.train({
    images: discImages(2).map((img) => ({ bytes: encodePng(img) })),
    options: { K: 3, M: 2, S: 2, batchSize: 2, steps: 3 },
  });
  const trainMs = performance.now() - t0;

  /** One POST /v1/samples; its latency in ms (throws on anything but 200 with one image). */
  const viaHttp = async (seed: number): Promise<number> => {
    const start = performance.now();
    const res = await fetch(`${base}/v1/samples`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ distribution: id, n: 1, steps: STEPS, seed }),
    });
    const body = await res.json() as { images?: { png_base64?: string }[] };
    if (res.status !== 200 || body.images?.length !== 1 || !body.images[0]?.png_base64) {
      throw new Error(`POST /v1/samples: ${res.status} ${JSON.stringify(body).slice(0, 200)}`);
    }
    return performance.now() - start;
  };
  /** The same work without HTTP: the request the handler builds (schema defaults), sample, PNG. */
  const direct = async (seed: number): Promise<number> => {
    const start = performance.now();
    const req = toSampleRequest({
      distribution: id,
      gamma: 1,
      n: 1,
      seed,
      steps: STEPS,
      guidance: 7.5,
      scheduler: SchedulerKind.DDIM,
    });
    const pngs = (await engine.sample(req)).map(encodePng);
    if (pngs.length !== 1) throw new Error("direct sample: expected one image");
    return performance.now() - start;
  };

  for (let i = 0; i < 2; i++) { // warm-up
    await viaHttp(1000 + i);
    await direct(1000 + i);
  }

  const rows: string[][] = [];
  for (const [clients, perClient] of LEVELS) {
    const lat: number[] = [];
    const start = performance.now();
    const stopAt = start + LEVEL_BUDGET_MS;
    await Promise.all(Array.from({ length: clients }, async (_, c) => {
      for (let i = 0; i < perClient && performance.now() < stopAt; i++) {
        lat.push(await viaHttp(c * 100 + i));
      }
    }));
    const wallS = (performance.now() - start) / 1000;
    rows.push([
      String(clients),
      String(lat.length),
      wallS.toFixed(2),
      (lat.length / wallS).toFixed(2),
      pct(lat, 50).toFixed(1),
      pct(lat, 99).toFixed(1),
    ]);
  }

  const d: number[] = [], h: number[] = [];
  for (let i = 0; i < PAIRS; i++) {
    // Alternate which goes first so drift in machine load falls on both sides.
    if (i % 2 === 0) {
      d.push(await direct(i));
      h.push(await viaHttp(i));
    } else {
      h.push(await viaHttp(i));
      d.push(await direct(i));
    }
  }
  const [dMed, hMed] = [pct(d, 50), pct(h, 50)];
  const overhead = 100 * (hMed / dMed - 1);
  // Per-pair differences cancel load drift that medians of the two series keep.
  const paired = pct(h.map((x, i) => x - d[i]!), 50);

  const table = (head: string[], body: string[][]) => {
    const w = head.map((x, i) => Math.max(x.length, ...body.map((r) => r[i]!.length)));
    const line = (r: string[]) => "  " + r.map((x, i) => x.padStart(w[i]!)).join("  ");
    return [line(head), line(w.map((n) => "-".repeat(n))), ...body.map(line)].join("\n");
  };
  console.log(
    `POST /v1/samples, tiny SD2 fixture (32x32 px), n 1, ${STEPS} DDIM steps, CFG 7.5, JSON ` +
      `base64 PNG, ORT CPU, ${navigator.hardwareConcurrency} cores`,
  );
  console.log(
    `  server: DD_CONCURRENCY ${config.concurrency} (model work at once; the rest queue), ` +
      `DD_QUEUE_SIZE ${config.queueSize}; training K 3 M 2 S 2 batch 2, 3 steps: ` +
      `${trainMs.toFixed(0)} ms`,
  );
  console.log(
    table(["clients", "requests", "wall s", "req/s", "p50 ms", "p99 ms"], rows) +
      "\n  (p99 is nearest-rank: with this few requests it is the slowest one)",
  );
  console.log(
    `HTTP overhead vs direct engine.sample + encodePng, concurrency 1, ${PAIRS} interleaved pairs`,
  );
  console.log(table(["path", "median ms", "min ms", "max ms"], [
    ["direct", dMed.toFixed(1), Math.min(...d).toFixed(1), Math.max(...d).toFixed(1)],
    ["HTTP", hMed.toFixed(1), Math.min(...h).toFixed(1), Math.max(...h).toFixed(1)],
  ]));
  console.log(
    `  overhead (HTTP/direct - 1): ${overhead.toFixed(1)}% (${(hMed - dMed).toFixed(1)} ms); ` +
      `target < 5%: ${overhead < 5 ? "met" : "NOT met"}`,
  );
  console.log(
    `  median of per-pair differences (HTTP - direct): ${paired.toFixed(1)} ms = ` +
      `${(100 * paired / dMed).toFixed(1)}% of the direct median`,
  );
  console.log(`  load average at start ${loadAtStart}, at end ${loadavg()}`);
} finally {
  await server.shutdown();
  await engine.close();
  await Deno.remove(dir, { recursive: true });
}
