/**
 * `deno task eval`: the paper's Table 1 in miniature on the shape world (issue 5).
 *
 * Protocol (fixed before any result was looked at; change it only with a note):
 * - concepts: warm-shapes-dark, cool-squares, pairs-bottom, small-white-anything; seeds 0, 1, 2.
 * - references: 12 renders of the concept per seed (`referenceImages(seed, 12)`).
 * - methods, 48 images each, DDIM 25 steps, the model's default guidance (was 5; changed
 *   before any evaluation result: the base-model check showed guidance 5 saturating
 *   dd-world-tiny's samples, and a protocol should use the model's default sampler):
 *   DreamDistribution (K 16, M 4, S 4, batch 4, 300 steps, lr 5e-3, gamma 1);
 *   Textual Inversion (same code, K 1, sigma 0, same steps);
 *   a short caption (the most common "a <colour> <kind>" among the references);
 *   the concept's own captions (the references' full captions, cycled) as the ceiling.
 * - columns: fidelity (share of analysed images inside the concept's support; failed analyses
 *   count as outside), coverage (share of the references' attribute combinations generated),
 *   Density and Coverage (Naeem et al. 2020, k 5) of `embedImage` features against 64 renders
 *   of the concept's support; mean ± std over seeds.
 * - gamma sweep: DreamDistribution at gamma 0, 0.5, 1, 1.5, 2 (seed 0): distinct attribute
 *   combinations among 48 images, and coverage.
 * - The README's table is the full protocol: 41.5 min on 2 cores, as two `--threads 1`
 *   processes splitting the concepts. `--n` and `--train-steps` exist for quicker looks.
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Engine } from "../engine/engine.ts";
import { encodePng } from "../images/encode.ts";
import type { RgbImage } from "../images/types.ts";
import { encodePrompt } from "../distribution/sample.ts";
import { txt2img } from "../pipeline/txt2img.ts";
import { createScheduler, SchedulerKind } from "../schedulers/mod.ts";
import { FsStore } from "../store/fs_store.ts";
import { fromTensor } from "../images/tensor.ts";
import {
  analyse,
  caption,
  type Concept,
  CONCEPTS,
  coverage,
  densityCoverage,
  distinctCombinations,
  embedImage,
  fidelity,
  render,
  type Scene,
  shortCaption,
} from "../world/mod.ts";
import { resolveModel } from "./_models.ts";

const CONCEPT_SET = ["warm-shapes-dark", "cool-squares", "pairs-bottom", "small-white-anything"];
const METHODS = ["DreamDistribution", "Textual Inversion", "short caption", "own captions"];

interface Scores {
  fidelity: number;
  coverage: number;
  density: number;
  dcCoverage: number;
}

function score(images: RgbImage[], concept: Concept, refs: Scene[], seed: number): Scores {
  const scenes = images.map((img) => analyse(img).scene);
  const support = concept.referenceScenes(seed + 1000, 64).map((s, i) => embedImage(render(s, i)));
  const dc = densityCoverage(support, images.map(embedImage), 5);
  return {
    fidelity: fidelity(scenes, concept),
    coverage: coverage(scenes, refs),
    density: dc.density,
    dcCoverage: dc.coverage,
  };
}

const meanStd = (xs: number[]) => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const s = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, xs.length - 1));
  return `${m.toFixed(3)} ± ${s.toFixed(3)}`;
};

/** Runs the evaluation; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: "string", default: "dd-world-tiny" },
      seeds: { type: "string", default: "0,1,2" },
      concepts: { type: "string", default: CONCEPT_SET.join(",") },
      n: { type: "string", default: "48" },
      "train-steps": { type: "string", default: "300" },
      k: { type: "string", default: "16" },
      steps: { type: "string", default: "25" },
      out: { type: "string", default: "eval" },
      // One thread per process lets two processes split the concepts on a 2-core machine.
      threads: { type: "string", default: "0" },
    },
  });
  const t0 = performance.now();
  const seeds = values.seeds.split(",").map(Number);
  const n = Number(values.n), sampleSteps = Number(values.steps);
  const storeDir = await Deno.makeTempDir({ prefix: "dd-eval-" });
  const engine = new Engine({
    store: new FsStore(storeDir),
    resolveModel,
    defaultModel: values.model,
    cacheDir: join(storeDir, "cache"),
    sessionOptions: Number(values.threads) > 0 ? { intraOpThreads: Number(values.threads) } : {},
  });
  await Deno.mkdir(values.out, { recursive: true });
  try {
    const model = await engine.model();
    const scheduler = createScheduler(SchedulerKind.DDIM, model.schedulerConfig);
    const uncond = await encodePrompt(model, "");
    const fromCaptions = async (captions: string[], seed: number) => {
      const feats = await Promise.all(captions.map((c) => encodePrompt(model, c)));
      const cond = new Float32Array(feats.reduce((a, f) => a + f.length, 0));
      feats.forEach((f, i) => cond.set(f, i * f.length));
      const { pixels } = await txt2img(model.runtime, scheduler, cond, uncond, {
        steps: sampleSteps,
        guidance: model.defaultGuidance,
        seed,
      });
      const side = model.runtime.graphs.info.latentSize * model.runtime.graphs.info.vaeScale;
      const size = 3 * side * side;
      return captions.map((_, i) =>
        fromTensor(pixels.subarray(i * size, (i + 1) * size), side, side)
      );
    };
    const table = new Map<string, Scores[]>();
    const sweep: string[] = [];
    for (const name of values.concepts.split(",")) {
      const concept = CONCEPTS[name as keyof typeof CONCEPTS];
      if (!concept) throw new Error(`unknown concept ${name}`);
      for (const seed of seeds) {
        const refs = concept.referenceImages(seed, 12);
        const scenes = refs.map((r) => r.scene);
        const images = refs.map((r, i) => ({ bytes: encodePng(r.image), name: `${name}-${i}` }));
        const common = {
          M: 4,
          S: 4,
          batchSize: 4,
          steps: Number(values["train-steps"]),
          lr: 5e-3,
          seed,
        };
        const dd = await engine.train({ images, options: { ...common, K: Number(values.k) } });
        const ti = await engine.train({
          images,
          options: { ...common, mode: "textual_inversion" },
        });
        const sample = (id: string, gamma: number) =>
          engine.sample({
            distributions: [{ id, weight: 1 }],
            gamma,
            n,
            seed,
            steps: sampleSteps,
            batchSize: n, // one batch, as the caption baselines (32x32 images are small)
          });
        const counts = new Map<string, number>();
        for (const s of scenes) counts.set(shortCaption(s), (counts.get(shortCaption(s)) ?? 0) + 1);
        const short = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
        const outputs: [string, RgbImage[]][] = [
          [METHODS[0]!, await sample(dd.id, 1)],
          [METHODS[1]!, await sample(ti.id, 1)],
          [METHODS[2]!, await fromCaptions(Array(n).fill(short), seed)],
          [
            METHODS[3]!,
            await fromCaptions(
              Array.from({ length: n }, (_, i) => caption(scenes[i % scenes.length]!)),
              seed,
            ),
          ],
        ];
        for (const [method, imgs] of outputs) {
          const key = `${method}|${name}`;
          table.set(key, [...(table.get(key) ?? []), score(imgs, concept, scenes, seed)]);
        }
        if (seed === seeds[0]) {
          for (const gamma of [0, 0.5, 1, 1.5, 2]) {
            const imgs = await sample(dd.id, gamma);
            const an = imgs.map((img) => analyse(img).scene);
            sweep.push(
              `| ${name} | ${gamma} | ${distinctCombinations(an)} | ${
                coverage(an, scenes).toFixed(3)
              } |`,
            );
          }
        }
        console.error(
          `eval: ${name} seed ${seed} done (${
            ((performance.now() - t0) / 60000).toFixed(1)
          } min so far)`,
        );
      }
    }
    const lines = [
      "| method | concept | fidelity | coverage | density | D&C coverage |",
      "| --- | --- | --- | --- | --- | --- |",
    ];
    for (const [key, rows] of table) {
      const [method, concept] = key.split("|");
      lines.push(
        `| ${method} | ${concept} | ${meanStd(rows.map((r) => r.fidelity))} | ${
          meanStd(rows.map((r) => r.coverage))
        } | ` +
          `${meanStd(rows.map((r) => r.density))} | ${meanStd(rows.map((r) => r.dcCoverage))} |`,
      );
    }
    const minutes = ((performance.now() - t0) / 60000).toFixed(1);
    const report = [
      `Model ${model.name} @ ${model.revision}; seeds ${seeds.join(", ")}; ${n} images per ` +
      `method, concept and seed; ${minutes} min.`,
      "",
      ...lines,
      "",
      `| concept | gamma | distinct combinations (of ${n}) | coverage |`,
      "| --- | --- | --- | --- |",
      ...sweep,
    ].join("\n");
    await Deno.writeTextFile(join(values.out, "eval.md"), `${report}\n`);
    console.log(report);
    return 0;
  } catch (e) {
    console.error(`error: ${(e as Error).message.split("\n")[0]}`);
    return 1;
  } finally {
    await engine.close();
    await Deno.remove(storeDir, { recursive: true });
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
