/**
 * `deno task model:quality [--model DIR] [--n 200] [--steps 25] [--guidance G] [--guidance-rescale R] [--scheduler K]
 * [--seed S] [--grid FILE]`
 *
 * The defaults are the service's sampler defaults: 25 steps and the checkpoint's own guidance
 * scale, guidance_rescale and scheduler (core/models/sampler_defaults.ts; DDIM when it names
 * none). `--scheduler` is one of ddim, euler_ancestral, dpm_solver_pp_2m.
 *
 * Issue 5's base-model quality check: generate one image per caption for n scenes drawn from
 * the shape world, analyse each image, and report how often the analyser recovers the
 * captioned attributes (kind and colour together, and each attribute).
 * @module
 */
import { join } from "node:path";
import { planTimesteps } from "../engine/mod.ts";
import { encodePng, fromTensor, makeGrid } from "../images/mod.ts";
import { loadModel, readSamplerDefaults } from "../models/mod.ts";
import { txt2img } from "../pipeline/mod.ts";
import { Rng } from "../random.ts";
import { SchedulerKind } from "../schedulers/mod.ts";
import { analyse, caption, sampleScene, type Scene } from "../world/mod.ts";
import { defineTask, num, runMain, str, type TaskMain } from "./_cli.ts";
import { SAMPLING_OPTIONS, type SamplingArgs, samplingArgs } from "./_sampling_args.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const ATTRS = ["kind", "colour", "size", "count", "position", "background"] as const;

const DEFAULT_DIR = join(ROOT, "core/models/embedded/dd-world-tiny");

/** Runs the check; returns the exit code. */
export const main: TaskMain = defineTask({
  usage: "usage: deno task model:quality [--model DIR] [--n N] [--steps N] [--guidance X]\n" +
    "         [--guidance-rescale X] [--scheduler NAME] [--seed N] [--grid FILE.png]",
  about: "Generates one image per caption for n scenes of the shape world, analyses each image\n" +
    "and reports how often the captioned attributes are recovered (issue 5's quality check).",
  options: {
    model: {
      type: "string",
      arg: "DIR",
      default: "core/models/embedded/dd-world-tiny",
      help: "diffusers checkpoint dir",
    },
    n: { type: "string", arg: "N", default: "200", help: "captions (one image each)" },
    ...SAMPLING_OPTIONS,
    seed: { type: "string", arg: "N", default: "1", help: "seed of scenes and sampling" },
    grid: { type: "string", arg: "FILE.png", help: "also write a grid of the first 32 images" },
  },
  run: ({ values: v, io }) =>
    quality({
      model: str(v, "model") ?? DEFAULT_DIR,
      n: num(v, "n", 200, { integer: true, min: 1 }),
      sampling: samplingArgs(v),
      seed: num(v, "seed", 1, { integer: true, min: 0 }),
      grid: str(v, "grid"),
    }, io.out),
});

interface QualityArgs {
  model: string;
  n: number;
  sampling: SamplingArgs;
  seed: number;
  grid: string | undefined;
}

async function quality(values: QualityArgs, out: (line: string) => void): Promise<number> {
  const { n, seed, sampling } = values, steps = sampling.steps;
  const defaults = await readSamplerDefaults(values.model).catch(() => null);
  // A model default the scheduler table lacks is refused when the timesteps are planned.
  const kind = (sampling.scheduler ?? defaults?.scheduler ?? SchedulerKind.DDIM) as SchedulerKind;
  const rescale = sampling.guidanceRescale ?? defaults?.guidanceRescale ?? 0;
  const model = await loadModel(values.model, { folders: true });
  const { runtime: rt, tokenizer, schedulerConfig: config } = model;
  const graphs = rt.graphs;
  const guidance = sampling.guidance ?? model.defaultGuidance;
  const L = graphs.info.maxLength;
  const rng = new Rng(seed).fork("scenes");
  const scenes: Scene[] = Array.from({ length: n }, () => sampleScene(rng));
  const ids = Int32Array.from(scenes.flatMap((s) => tokenizer.encodePadded(caption(s), L)));
  const cond = await rt.encodeIds(ids, n);
  const uncond = await rt.encodeIds(Int32Array.from(tokenizer.encodePadded("", L)), 1);
  const { scheduler, plan } = planTimesteps(kind, config, steps); // the one check of steps
  const { pixels } = await txt2img(rt, scheduler, cond, uncond, {
    plan,
    guidance,
    guidanceRescale: rescale,
    seed,
    batchSize: 25,
  });
  await rt.release();
  const side = graphs.info.latentSize * graphs.info.vaeScale, size = 3 * side * side;
  const images = scenes.map((_, i) =>
    fromTensor(pixels.subarray(i * size, (i + 1) * size), side, side)
  );
  const hits = Object.fromEntries(ATTRS.map((a) => [a, 0])) as Record<
    (typeof ATTRS)[number],
    number
  >;
  let kindColour = 0, all = 0;
  scenes.forEach((want, i) => {
    const got = analyse(images[i]!).scene;
    if (!got) return;
    for (const a of ATTRS) if (got[a] === want[a]) hits[a]++;
    if (got.kind === want.kind && got.colour === want.colour) kindColour++;
    if (ATTRS.every((a) => got[a] === want[a])) all++;
  });
  const pct = (x: number) => `${((100 * x) / n).toFixed(1)}%`;
  out(
    `${n} captions, ${steps} ${kind} steps, guidance ${guidance} (rescale ${rescale}): kind and colour ` +
      `recovered in ${pct(kindColour)} of images; every attribute in ${pct(all)}; ` +
      ATTRS.map((a) => `${a} ${pct(hits[a])}`).join(", "),
  );
  if (values.grid) {
    const rows = Array.from(
      { length: Math.min(4, Math.ceil(n / 8)) },
      (_, r) => images.slice(r * 8, r * 8 + 8),
    );
    await Deno.writeFile(values.grid, encodePng(makeGrid(rows, { pad: 2 })));
  }
  return 0;
}

if (import.meta.main) await runMain(main);
