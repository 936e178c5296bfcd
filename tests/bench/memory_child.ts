/**
 * One measured training or sampling run in its own process, for the memory-budget
 * calibration (tests/bench/memory_budget_bench.ts): prints one JSON line with the options and
 * the peak RSS (VmHWM) in MiB.
 *
 *     deno run -A tests/bench/memory_child.ts train <modelDir> '{"K":4,"M":2,"S":2,"batchSize":2,"steps":2}'
 *     deno run -A tests/bench/memory_child.ts sample <modelDir> '{"n":2,"steps":2}'
 */
import { Engine } from "../../core/engine/engine.ts";
import { encodePng } from "../../core/images/encode.ts";
import { FsStore } from "../../core/store/fs_store.ts";
import { discImages } from "../helpers/tiny_model.ts";

const hwm = () =>
  Number(/VmHWM:\s+(\d+)/.exec(Deno.readTextFileSync("/proc/self/status"))?.[1] ?? NaN) / 1024;

const [mode = "train", dir = "core/models/embedded/dd-world-tiny", json = "{}"] = Deno.args;
const opts = JSON.parse(json);
const store = new FsStore(await Deno.makeTempDir({ prefix: "dd-mem-" }));
const engine = new Engine({
  store,
  resolveModel: () => Promise.resolve({ dir, revision: "local" }),
  defaultModel: "m",
  cacheDir: Deno.env.get("DD_MEM_CACHE") ?? null,
});
const t0 = performance.now();
const model = await engine.model();
const res = model.runtime.graphs.info.latentSize;
const afterLoad = hwm();
let id = "";
const images = discImages(4).map((img) => ({ bytes: encodePng(img) }));
if (mode === "train") {
  const m = await engine.train({ images, options: opts });
  id = m.id;
} else {
  const m = await engine.train({
    images,
    options: { K: 2, M: 1, S: 1, batchSize: 1, steps: 1 },
  });
  const before = hwm();
  await engine.sample({ distributions: [{ id: m.id, weight: 1 }], gamma: 1, seed: 1, ...opts });
  id = `${m.id} (peak before sampling ${Math.round(before)} MiB)`;
}
console.log(JSON.stringify({
  mode,
  dir,
  opts,
  res,
  loadMiB: Math.round(afterLoad),
  peakMiB: Math.round(hwm()),
  s: Math.round((performance.now() - t0) / 100) / 10,
  id,
}));
await engine.close();
await Deno.remove(store.root, { recursive: true });
