/**
 * txt2img throughput on the tiny fixture model (ONNX Runtime CPU) and the share of wall
 * time spent outside ONNX Runtime sessions (the pipeline's own overhead: scheduler steps,
 * guidance, copies). Also one training step split into graph build, ORT and optimiser.
 */
import { loadDiffusersCheckpoint } from "../../core/models/checkpoint.ts";
import { ModelRuntime } from "../../core/models/model_runtime.ts";
import { txt2img } from "../../core/pipeline/txt2img.ts";
import { createScheduler, parseSchedulerConfig, SchedulerKind } from "../../core/schedulers/mod.ts";
import { trainDistribution } from "../../core/distribution/train.ts";
import { ClipTokenizer } from "../../core/tokenizer/clip.ts";

const DIR = new URL("../fixtures/diffusers-tiny-sd2", import.meta.url).pathname;

function rssMiB(field: "VmRSS" | "VmHWM"): number {
  const m = Deno.readTextFileSync("/proc/self/status").match(new RegExp(`${field}:\\s+(\\d+)`));
  return m ? Number(m[1]) / 1024 : NaN;
}

const graphs = await loadDiffusersCheckpoint(DIR);
const config = parseSchedulerConfig(
  JSON.parse(await Deno.readTextFile(`${DIR}/scheduler/scheduler_config.json`)),
);
const rt = new ModelRuntime(graphs);
const n = 8, steps = 25;
const cond = Float32Array.from({ length: n * 77 * 32 }, (_, i) => Math.sin(i * 0.37));
const uncond = new Float32Array(77 * 32);
const scheduler = createScheduler(SchedulerKind.DDIM, config);
await txt2img(rt, scheduler, cond, uncond, { steps: 2, guidance: 7.5, seed: 0, batchSize: 4 }); // warm-up
rt.ortMs = 0;
const t0 = performance.now();
await txt2img(rt, scheduler, cond, uncond, { steps, guidance: 7.5, seed: 0, batchSize: 4 });
const wall = performance.now() - t0;
console.log(
  `txt2img, tiny SD2 fixture (32x32 px), ${n} images, ${steps} DDIM steps, CFG 7.5, batch 4, ORT CPU`,
);
console.log(
  `  images/s ${(n / (wall / 1000)).toFixed(2)}   wall ${wall.toFixed(0)} ms   in ORT ${
    rt.ortMs.toFixed(0)
  } ms   outside ORT ${(100 * (1 - rt.ortMs / wall)).toFixed(1)}%`,
);

const tokenizer = await ClipTokenizer.fromDir(`${DIR}/tokenizer`);
const images = Array.from({ length: 4 }, (_, i) => ({
  width: 32,
  height: 32,
  data: Uint8Array.from({ length: 32 * 32 * 3 }, (_, j) => (j * (i + 3)) % 251),
}));
const base = rssMiB("VmRSS");
for (const cached of [false, true]) {
  const cacheDir = await Deno.makeTempDir();
  if (cached) {
    await trainDistribution({ runtime: rt, tokenizer, schedulerConfig: config, images }, {
      steps: 1,
    }, { cacheDir });
  }
  const r = await trainDistribution(
    { runtime: rt, tokenizer, schedulerConfig: config, images },
    { steps: 20 },
    { cacheDir },
  );
  const t = r.timings;
  console.log(
    `train, paper defaults K=32 M=4 S=4 batch 4, 20 steps, graph ${
      cached ? "from cache" : "built"
    }: ` +
      `graph ${t.graphMs.toFixed(0)} ms, ORT ${(t.ortMs / 20).toFixed(1)} ms/step, optimiser ` +
      `${(t.optimizerMs / 20).toFixed(2)} ms/step, ${
        (20 / ((t.ortMs + t.optimizerMs) / 1000)).toFixed(2)
      } steps/s, ` +
      `total ${t.totalMs.toFixed(0)} ms`,
  );
  await Deno.remove(cacheDir, { recursive: true });
}
console.log(
  `  peak RSS ${rssMiB("VmHWM").toFixed(0)} MiB (process, ${base.toFixed(0)} MiB before training)`,
);
await rt.release();
