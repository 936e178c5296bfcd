/**
 * In-browser sampling (the playground's "in browser" mode: core/browser on onnxruntime-web in
 * headless Chromium) against the server's ONNX Runtime (POST /v1/samples), on the embedded
 * model dd-world-tiny with its default sampling (Euler-A, guidance 3, rescale 0.7) and 25
 * steps. One distribution is trained (3 steps, K = 3) over HTTP first.
 *
 * - time to first image: browser, from the slider's change in a fresh page to the image drawn
 *   (loading onnxruntime-web, the model's ONNX files, the parameters, session creation, 25
 *   steps); server, the first POST /v1/samples (n = 1) of a fresh engine after training
 *   (creating the sampling sessions).
 * - images/s: n = 8 per render or request, warm, median of 3.
 *
 * Run: `npx -y deno@2.9.6 run -A tests/bench/browser_sampler_bench.ts`
 */
import { join } from "node:path";
import { tmpdir } from "node:os";
import { Engine } from "../../core/engine/engine.ts";
import { encodePng } from "../../core/images/encode.ts";
import { FsStore } from "../../core/store/fs_store.ts";
import { createApp, resolveDeps } from "../../functions/app.ts";
import { parseConfig } from "../../functions/config.ts";
import { Browser } from "../helpers/cdp.ts";
import { discImages } from "../helpers/tiny_model.ts";

const KEY = "k1";
const STEPS = 25;
const N = 8;
const dir = await Deno.makeTempDir({ prefix: "dd-bench-store-" });
const engine = new Engine({
  store: new FsStore(dir),
  resolveModel: () =>
    Promise.resolve({ dir: "core/models/embedded/dd-world-tiny", revision: "embedded" }),
  defaultModel: "dd-world-tiny",
  cacheDir: join(tmpdir(), "dd-functions-test-graphs"),
});
const config = parseConfig({ HOST: "127.0.0.1", PORT: "0", DD_API_KEYS: KEY });
const deps = resolveDeps({ engine, config, log: () => {} });
const app = createApp(deps);
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
const base = `http://127.0.0.1:${server.addr.port}`;
const auth = { Authorization: `Bearer ${KEY}` };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const load = () => Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
const loadBefore = load();

// Train over HTTP.
const form = new FormData();
for (const [i, img] of discImages(6).entries()) {
  form.append("images", new Blob([encodePng(img) as Uint8Array<ArrayBuffer>]), `r${i}.png`);
}
form.append("options", JSON.stringify({ steps: 3, k: 3, m: 2, batch_size: 2 }));
const trained = await fetch(`${base}/v1/distributions`, {
  method: "POST",
  headers: auth,
  body: form,
});
const { id } = await trained.json();

// Server.
const serverSample = async (n: number, seed: number) => {
  const t0 = performance.now();
  const r = await fetch(`${base}/v1/samples`, {
    method: "POST",
    headers: { ...auth, "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ distribution: id, gamma: 1, n, steps: STEPS, seed }),
  });
  if (!r.ok) throw new Error(await r.text());
  await r.json();
  return performance.now() - t0;
};
const serverFirst = await serverSample(1, 0);
const serverWarm: number[] = [];
for (let i = 0; i < 3; i++) serverWarm.push(await serverSample(N, i + 1));

// Browser.
const b = await Browser.launch(1280, 1000);
let browserFirst = 0, provider = "", isolated = false;
const browserWarm: number[] = [];
try {
  await b.goto(`${base}/playground`);
  await b.type("#key", KEY);
  await b.click("#connect");
  await b.until(`document.querySelector('#dist-list tr input')`, "the listing");
  await b.click("#dist-list tr input");
  await b.click(`input[name="where"][value="browser"]`);
  await b.type("#sample-steps", String(STEPS));
  const render = async (gamma: string, n: number) => {
    await b.type("#n", String(n));
    await b.type("#gamma", gamma);
    const label = `gamma ${Number(gamma).toFixed(2)}`;
    await b.until(
      `document.getElementById("sample-status").textContent.startsWith(${JSON.stringify(label)})`,
      "a render",
      600_000,
    );
    return Number(await b.eval<string>(`document.getElementById("sample-status").dataset.ms`));
  };
  browserFirst = await render("0.5", 1);
  provider = await b.eval<string>(`document.getElementById("sample-status").dataset.provider`);
  isolated = await b.eval<boolean>(`globalThis.crossOriginIsolated`);
  for (const g of ["1", "1.5", "2"]) browserWarm.push(await render(g, N));
} finally {
  await b.close();
}
await server.shutdown();
await deps.jobs.idle();
await engine.close();
await Deno.remove(dir, { recursive: true });

const ips = (ms: number) => (N / (ms / 1000)).toFixed(2);
console.log(
  `dd-world-tiny, ${STEPS} steps, default sampler; load average before ${loadBefore}, after ${load()}`,
);
console.log(`| | time to first image | images/s (n = ${N}, warm, median of 3) |`);
console.log(`| --- | --- | --- |`);
console.log(
  `| browser (onnxruntime-web ${provider}, ${isolated ? "threads" : "1 thread"}) | ${
    (browserFirst / 1000).toFixed(2)
  } s | ${ips(median(browserWarm))} |`,
);
console.log(
  `| server (onnxruntime-node CPU) | ${(serverFirst / 1000).toFixed(2)} s | ${
    ips(median(serverWarm))
  } |`,
);
