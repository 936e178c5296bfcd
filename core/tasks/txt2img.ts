/**
 * `deno task txt2img --prompt TEXT [--model NAME|DIR] [--negative TEXT] [--steps N]
 *  [--guidance X] [--scheduler NAME] [--seed N] [--n N] --out DIR`
 *
 * Plain text-to-image with a model, no learned distribution: the prompt is tokenized and
 * encoded, then core/pipeline/txt2img denoises `n` images (image i from seed `seed` and its
 * index, as everywhere) and writes `image_000.png`, ... into DIR. Guidance, guidance_rescale
 * and the scheduler default to the model's own (`_dd_sampler_defaults`), as in `sample`.
 *
 * @module
 */
import { join } from "node:path";
import { planTimesteps } from "../engine/mod.ts";
import { encodePng, fromTensor } from "../images/mod.ts";
import { loadModel } from "../models/mod.ts";
import { txt2img } from "../pipeline/mod.ts";
import {
  defineTask,
  num,
  type OptionTable,
  required,
  runMain,
  str,
  type TaskMain,
  withInterrupt,
} from "./_cli.ts";
import { DEFAULT_MODEL, MODEL_OPTION } from "./_models.ts";
import { SAMPLING_OPTIONS, samplingArgs } from "./_sampling_args.ts";
import { countProgress } from "./_progress.ts";

const OPTIONS: OptionTable = {
  ...MODEL_OPTION,
  prompt: { type: "string", arg: "TEXT", help: "the prompt, required" },
  negative: { type: "string", arg: "TEXT", default: '""', help: "negative prompt" },
  ...SAMPLING_OPTIONS,
  seed: { type: "string", arg: "N", default: "0", help: "random seed" },
  n: { type: "string", arg: "N", default: "1", help: "number of images" },
  "batch-size": { type: "string", arg: "N", default: "4", help: "images denoised together" },
  out: {
    type: "string",
    arg: "DIR",
    help: "write image_000.png, image_001.png, ... here, required",
  },
};

/** Runs the task on `args`; returns the exit code. */
export const main: TaskMain = defineTask({
  usage: "usage: deno task txt2img --prompt TEXT --out DIR [--model NAME|DIR] [--negative TEXT]\n" +
    "         [--steps N] [--guidance X] [--scheduler NAME] [--seed N] [--n N]",
  about: "Generates images from a text prompt with a model (no learned distribution).",
  options: OPTIONS,
  run: async ({ values, io }) => {
    const prompt = required(values, "prompt");
    const out = required(values, "out");
    const { steps, ...sampling } = samplingArgs(values);
    const n = num(values, "n", 1, { integer: true, min: 1, max: 1024 });
    const seed = num(values, "seed", 0, { integer: true, min: 0 });
    const batchSize = num(values, "batch-size", 4, { integer: true, min: 1, max: 64 });
    const name = str(values, "model") ?? DEFAULT_MODEL;
    // Resolved (an unknown model fails before any work) and loaded once.
    const model = await loadModel(name, { folders: true });
    try {
      const rt = model.runtime;
      const L = rt.graphs.info.maxLength;
      const kind = sampling.scheduler ?? model.defaultScheduler;
      // The one check of the step count, before any model work; the plan is passed down.
      const { scheduler, plan } = planTimesteps(kind, model.schedulerConfig, steps);
      const ids = model.tokenizer.encodePadded(prompt, L);
      const one = await rt.encodeIds(Int32Array.from(ids), 1);
      const cond = new Float32Array(one.length * n);
      for (let i = 0; i < n; i++) cond.set(one, i * one.length);
      const negative = str(values, "negative") ?? "";
      const uncond = await rt.encodeIds(
        Int32Array.from(model.tokenizer.encodePadded(negative, L)),
        1,
      );
      const guidance = sampling.guidance ?? model.defaultGuidance;
      const guidanceRescale = sampling.guidanceRescale ?? model.defaultGuidanceRescale;
      const progress = countProgress("txt2img", io);
      const { pixels } = await withInterrupt((signal) =>
        txt2img(rt, scheduler, cond, uncond, {
          plan,
          guidance,
          guidanceRescale,
          seed,
          batchSize,
          signal,
          onProgress: progress.onProgress,
        }).finally(progress.finish)
      );
      const side = rt.graphs.info.latentSize * rt.graphs.info.vaeScale, size = 3 * side * side;
      await Deno.mkdir(out, { recursive: true });
      for (let i = 0; i < n; i++) {
        const img = fromTensor(pixels.subarray(i * size, (i + 1) * size), side, side);
        await Deno.writeFile(join(out, `image_${String(i).padStart(3, "0")}.png`), encodePng(img));
      }
      const last = `image_${String(n - 1).padStart(3, "0")}.png`;
      io.out(
        `wrote ${n} images to ${out} (image_000.png${n > 1 ? ` .. ${last}` : ""}): ` +
          `${name}, ${steps} ${kind} steps, guidance ${guidance} (rescale ${guidanceRescale}), ` +
          `seed ${seed}`,
      );
      return 0;
    } finally {
      await model.runtime.release();
    }
  },
});

if (import.meta.main) await runMain(main);
