/**
 * Calibration of the memory budget (core/engine/budget.ts): peak RSS of training and sampling
 * runs, each in its own process, on the embedded model and the tiny SD2 fixture, next to the
 * estimate. Prints one line per run.
 *
 *     deno run -A tests/bench/memory_budget_bench.ts [quick]
 */
import { estimateSampleBytes, estimateTrainBytes } from "../../core/engine/budget.ts";
import { budgetModelFacts } from "../../core/engine/budget.ts";

const EMBEDDED = "core/models/embedded/dd-world-tiny";
const FIXTURE = "tests/fixtures/diffusers-tiny-sd2";
const quick = Deno.args[0] === "quick";

const train: [string, Record<string, number>][] = [
  [EMBEDDED, { K: 4, M: 2, S: 1, batchSize: 1 }],
  [EMBEDDED, { K: 4, M: 2, S: 2, batchSize: 2 }],
  [EMBEDDED, { K: 4, M: 2, S: 4, batchSize: 4 }],
  [EMBEDDED, { K: 32, M: 4, S: 1, batchSize: 1 }],
  [EMBEDDED, { K: 32, M: 4, S: 4, batchSize: 4 }],
  [EMBEDDED, { K: 4, M: 2, S: 8, batchSize: 4 }],
  [FIXTURE, { K: 4, M: 2, S: 1, batchSize: 1 }],
  [FIXTURE, { K: 4, M: 2, S: 4, batchSize: 4 }],
  [FIXTURE, { K: 32, M: 4, S: 4, batchSize: 4 }],
  [FIXTURE, { K: 4, M: 2, S: 8, batchSize: 8 }],
];
const sample: [string, Record<string, number>][] = [
  [EMBEDDED, { n: 1, batchSize: 1 }],
  [EMBEDDED, { n: 8, batchSize: 8 }],
  [FIXTURE, { n: 1, batchSize: 1 }],
  [FIXTURE, { n: 8, batchSize: 8 }],
];

const cache = await Deno.makeTempDir({ prefix: "dd-mem-cache-" });
async function run(mode: string, dir: string, opts: Record<string, number>) {
  const full = mode === "train" ? { ...opts, steps: 2 } : { ...opts, steps: 2 };
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "tests/bench/memory_child.ts", mode, dir, JSON.stringify(full)],
    env: { DD_MEM_CACHE: cache },
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const r = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
  const facts = await budgetModelFacts(dir);
  const est = mode === "train"
    ? estimateTrainBytes(facts, { K: 32, M: 4, S: 4, batchSize: 4, ...opts })
    : estimateSampleBytes(facts, { n: 1, batchSize: 1, ...opts });
  const estMiB = Math.round(est / 2 ** 20);
  console.log(
    `${mode} ${dir.split("/").at(-1)} ${JSON.stringify(opts)} peak ${r.peakMiB} MiB ` +
      `(after load ${r.loadMiB}) estimate ${estMiB} MiB ratio ${(estMiB / r.peakMiB).toFixed(2)}`,
  );
}
for (const [dir, o] of quick ? train.slice(0, 2) : train) await run("train", dir, o);
for (const [dir, o] of quick ? sample.slice(0, 1) : sample) await run("sample", dir, o);
await Deno.remove(cache, { recursive: true });
