import { join } from "node:path";
import { Engine } from "../../core/engine/engine.ts";
import { encodePng } from "../../core/images/encode.ts";
import { SchedulerKind } from "../../core/schedulers/scheduler.ts";
import { FsStore } from "../../core/store/fs_store.ts";
import { createApp } from "../../functions/app.ts";
import { parseConfig } from "../../functions/config.ts";
import { toSampleRequest } from "../../functions/lib/sample_input.ts";
import { toBase64 } from "../../functions/lib/base64.ts";
import { discImages, SD2_DIR } from "../helpers/tiny_model.ts";
const dir = await Deno.makeTempDir();
const config = parseConfig({ DD_QUEUE_SIZE: "64", HOST: "127.0.0.1", PORT: "0" });
const engine = new Engine({ store: new FsStore(dir), resolveModel: () => Promise.resolve({ dir: SD2_DIR, revision: "f" }), defaultModel: "t", cacheDir: null });
const app = createApp({ engine, config, log: () => {} });
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
const base = `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}`;
const { id } = await engine.train({ images: discImages(2).map((i) => ({ bytes: encodePng(i) })), options: { K: 3, M: 2, S: 2, batchSize: 2, steps: 3 } });
const body = (seed: number) => JSON.stringify({ distribution: id, n: 1, steps: 4, seed });
const init = (seed: number) => ({ method: "POST", headers: { "Content-Type": "application/json" }, body: body(seed) });
const t = async (f: () => Promise<unknown>) => { const s = performance.now(); await f(); return performance.now() - s; };
const fns: Record<string, (s: number) => Promise<unknown>> = {
  direct: async (s) => (await engine.sample(toSampleRequest({ distribution: id, gamma: 1, n: 1, seed: s, steps: 4, guidance: 7.5, scheduler: SchedulerKind.DDIM }))).map(encodePng),
  directB64: async (s) => JSON.stringify((await engine.sample(toSampleRequest({ distribution: id, gamma: 1, n: 1, seed: s, steps: 4, guidance: 7.5, scheduler: SchedulerKind.DDIM }))).map(encodePng).map(toBase64)),
  appRequest: async (s) => (await app.request("/v1/samples", init(s))).json(),
  fetch: async (s) => (await fetch(`${base}/v1/samples`, init(s))).json(),
  fetchHealth: async () => (await fetch(`${base}/healthz`)).json(),
  get: (_s) => engine.get(id),
};
const r: Record<string, number[]> = {};
for (let i = 0; i < 40; i++) for (const [k, f] of Object.entries(fns)) (r[k] ??= []).push(await t(() => f(i % 5)));
for (const [k, v] of Object.entries(r)) { v.sort((a, b) => a - b); console.log(k, "median", v[20]!.toFixed(1), "min", v[0]!.toFixed(1)); }
await server.shutdown(); await engine.close(); await Deno.remove(dir, { recursive: true });
