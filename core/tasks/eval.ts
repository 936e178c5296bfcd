/**
 * `deno task eval`: protocol v2 of the method's evaluation on the shape world (issue 11).
 *
 * Protocol (fixed before any result of it was looked at; change it only with a note):
 * - Concepts: the development set (warm-shapes-dark, cool-squares, pairs-bottom,
 *   small-white-anything) unless `--concepts-file` names others. Seeds 0-5 (`--seeds`); the
 *   work runs most important first (main rows on seeds 0-2, the sweep, seed 3, the variants,
 *   then seeds 4-5), and the tables give the number of seeds behind every row.
 * - References: 12 renders of the concept per seed (`referenceImages(seed, 12)`).
 * - Sampling, for every row alike: the model's own sampler defaults (dd-world-tiny: Euler
 *   ancestral, guidance 3, guidance_rescale 0.7, so a single prompt is sharpened as Stable
 *   Diffusion sharpens it), 10 steps, sampling seed 1000 + seed shared by all rows (common
 *   random numbers make the paired differences less noisy).
 * - Trainings (200 steps, lr 5e-3, M 4, batch 4): `paper` (K 16, S 2, eq. 3-4 with the
 *   paper's |cos| ortho, lambda 5e-3); `best_prompt` (the same plus the best-prompt term,
 *   weight 1); `consistent` (amendment 3, added before any of its results: `best_prompt` whose
 *   eq. 3 samples are drawn in the low-rank sampler's form, `trainSampler: "low_rank"`; its
 *   sweep covers its low-rank row only); `textual_inversion` (K 1, sigma 0). On the variant seed (0): `omega_per_image`
 *   and the lambda sweep `lambda_0` and `lambda_0.05`, each with the diagonal and mixture
 *   samplers.
 * - Rows: the paper and best-prompt trainings with the diagonal (paper), low-rank and mixture
 *   samplers at gamma 1; `textual_inversion`; `short_caption` (the most common "a <colour>
 *   <kind>" among the references); `own_captions` (the references' captions, cycled);
 *   `ideal_sampler` (scenes drawn uniformly from the support, rendered: the real ceiling).
 *   200 images per row, concept and seed.
 * - Metrics (core/world/metrics.ts): fidelity (share of images analysed inside the support;
 *   misreads count as outside); on-concept diversity (distinct in-support combinations);
 *   support coverage (on-concept diversity / support size); Naeem density and coverage (k 5)
 *   of `embedImage` features against 64 renders of the support.
 * - Against Textual Inversion: the per-seed difference of support coverage, mean and 95%
 *   paired-bootstrap interval over seeds (10 000 resamples); the mean fidelity difference.
 * - Gamma sweep: both trainings with each sampler (amended from the paper's diagonal form and
 *   the best-prompt rows only, before any sweep result), at gamma 0, 1, 2, 4, 6 with 100
 *   images, on seed 0: fidelity and on-concept diversity.
 * - The product default (`PRODUCT_DEFAULT`) is the row that wins on the development concepts:
 *   highest mean support coverage among rows whose fidelity is within 5 points of Textual
 *   Inversion's on at least 3 of 4 concepts. (Replaced by amendment 9's rule.)
 * - Amendment 4 (written after the main rows' seeds 3-5 were seen, before any variant result
 *   beyond seed 0): the rule compares rows on the same seeds, all six. A variant row that the
 *   rule could pick on seed 0 alone (eligible there, with a mean coverage above the best
 *   eligible six-seed row) is run on every seed (`--variants-all-seeds`); rows with fewer seeds
 *   are reported but not candidates.
 * - Amendment 5 (written after the seed-0 sweep was seen, and after a look at an exploration
 *   seed outside the protocol's seeds, before any sweep cell on seeds 1-5): one seed's sweep
 *   cannot tell the dial (on an exploration seed, cool-squares' diversity fell from gamma 0 to
 *   1 where seed 0's rose). The product default's row is swept on every seed of `--seeds`
 *   (gamma 0, 1, 2, 4, 6; 100 images); the other rows keep seed 0. The dial is judged on the
 *   means over those seeds: on-concept diversity rises at each step 0 → 1 → 2 and fidelity at
 *   gamma 2 is at most 10 points below gamma 0. Each step's paired-bootstrap 95% interval
 *   over seeds is reported next to it.
 * - Amendment 6 (written after a pilot on exploration seed 6, outside the protocol's seeds,
 *   before any cell of it on seeds 0-5): training `sample_softmin`, the paper's objective whose
 *   eq. 3 term takes, per reference, a soft-min over its S samples instead of their mean
 *   (`sampleSoftmin` 0.05: the importance-weighted bound, which pays sigma for samples that
 *   explain different references; DESIGN §4b cause 1). Rows with the diagonal and low-rank
 *   samplers (not the mixture, for time) on every seed, swept on seed 0; a candidate for the
 *   product-default rule like any six-seed row.
 * - Amendment 7 (written after a pilot on exploration seed 6, outside the protocol's seeds,
 *   before any cell of it on seeds 0-5): training `sample_softmin_s4`, amendment 6's objective
 *   with S 4. The eval's rows train with S 2 for time, but the product trains with S 4 (the
 *   paper's), and the soft-min's reward for spread grows with S (the importance-weighted bound
 *   tightens with more samples); the pilot was one seed and inconclusive (gamma 1 diversity
 *   15 vs 9 with S 2 on warm-shapes-dark, 7 vs 11 on cool-squares). Rows with the diagonal and
 *   low-rank samplers on every seed; the diagonal row is also swept on every seed (like the
 *   product default, amendment 5) and its dial is reported; the low-rank row's sweep is on
 *   seed 0. A candidate for the product-default rule like any six-seed row; the rule is
 *   unchanged. (Correction after its results, not a change of protocol: S 4 is the paper's and
 *   the product's default, but dd-world-tiny's own training defaults had S 2; they took S 4
 *   when the rule chose this row.)
 * - Amendment 8 (written before any result of amendment 7 and of seeds 7-12): power. The issue
 *   asks for a 95% interval of the coverage difference with a half-width of at most 0.05.
 *   Where the product default (as the rule picks it on seeds 0-5) misses that on a concept,
 *   that concept's `textual_inversion` and product-default rows, with the default's sweep, are
 *   run on seeds 7-12 as well (seed 6 was the exploration seed), and the concept's coverage
 *   and dial criteria are judged once on all twelve seeds (no further extension). The rule
 *   still compares rows on seeds 0-5.
 * - Amendment 9 (written after every result above had been seen, before any cell of seeds 7-12
 *   of the row it picks): a new rule, so its pick is confirmed on fresh seeds, not trusted. The
 *   old rule picked by mean coverage and ignored the acceptance's own criteria. The product
 *   default is now the six-seed DreamDistribution row that meets the most of the issue's
 *   acceptance criteria on seeds 0-5 (coverage: interval of the difference above 0 and
 *   fidelity at most 5 points below TI, on 3 of 4 concepts; the dial, on 3 of 4; the stretch,
 *   on 2 of 4), then the most (concept, criterion) passes, then the highest mean coverage. The
 *   dial counts only for rows swept on all six seeds (for the others it is unknown, so not
 *   met). Applied to seeds 0-5 the rule picks `dd_paper_diagonal` (coverage 3/4, dial 3/4;
 *   next `dd_sample_softmin_s4_diagonal`, coverage 4/4, dial 1/4). Confirmation: that row, its
 *   sweep and `textual_inversion` run on seeds 7-12 for every concept, and the acceptance is
 *   judged on seeds 7-12 alone (a set no choice of the row has seen; TI's cells there for
 *   three concepts came from amendment 8 and were seen); the twelve-seed figures are reported
 *   beside it. No further extension, whatever the result.
 * - Amendment 10 (written after a pilot on exploration seed 6, outside the protocol's seeds,
 *   and after amendment 9's results, before any cell of it on seeds 0-5): training
 *   `sample_softmin_s4_t0.2`, amendment 7's training with a softer soft-min (tau 0.2), between
 *   the paper's mean (a narrow sigma: a dial, little coverage) and tau 0.05 (a wide sigma:
 *   coverage, no dial). On the pilot seed it kept warm-shapes-dark's fidelity at gamma 2 (0.71
 *   against 0.49 with tau 0.05) but not cool-squares' (0.66). The diagonal sampler only, on
 *   every seed, swept on every seed and its dial judged. A candidate for amendment 9's rule; if
 *   the rule picks it on seeds 0-5, it becomes the product default only after amendment 9's
 *   confirmation on seeds 7-12, judged the same way.
 *
 * Every cell (concept, seed, row, gamma, n) is cached as JSON under `--out`/cache, and every
 * trained distribution in `--out`/store, so a stopped run resumes and `--shard i/n` splits the
 * (concept, seed) pairs across processes; `--report` only aggregates what is cached.
 * @module
 */
import { join } from "node:path";
import { Engine, type LoadedModel } from "../engine/mod.ts";
import { encodePng, fromTensor, lineChart, makeGrid, type RgbImage } from "../images/mod.ts";
import { encodePrompt, type SamplerKind, type TrainOptionsInput } from "../distribution/mod.ts";
import { txt2img } from "../pipeline/mod.ts";
import { createScheduler } from "../schedulers/mod.ts";
import { FsStore } from "../store/mod.ts";
import { Rng } from "../random.ts";
import {
  analyse,
  caption,
  type Concept,
  CONCEPTS,
  densityCoverage,
  embedImage,
  fidelity,
  onConceptDiversity,
  pairedBootstrap,
  parseConceptsFile,
  render,
  sampleScene,
  type Scene,
  sceneKey,
  shortCaption,
  supportCoverage,
} from "../world/mod.ts";
import { defineTask, type OptionTable, runMain, type TaskMain, UsageError } from "./_cli.ts";
import { resolveModel } from "./_models.ts";

const DEV_CONCEPTS = ["warm-shapes-dark", "cool-squares", "pairs-bottom", "small-white-anything"];
const REFERENCES = 12;
/** Protocol sizes; `--n`, `--sweep-n`, `--steps`, `--train-steps` and `--k` shrink them for
 * quick looks and smoke tests (not the protocol: the report says so). */
interface Sizes {
  n: number;
  sweepN: number;
  steps: number;
  trainSteps: number;
  k: number;
}
const PROTOCOL: Sizes = { n: 200, sweepN: 100, steps: 10, trainSteps: 200, k: 16 };
const GAMMAS = [0, 1, 2, 4, 6];
const SWEEP_SEEDS = [0], VARIANT_SEEDS = [0];
const COMMON = { M: 4, batchSize: 4, lr: 5e-3 } as const;
// The paper's objective and lambda named explicitly: the product defaults may change with the
// results, and the `paper` rows must stay the paper's form.
const DD = { ...COMMON, S: 2, objective: "paper", lambda: 5e-3, sampleSoftmin: 0 } as const;
const TRAININGS: Record<
  string,
  { options: TrainOptionsInput; variant?: boolean; samplers?: SamplerKind[] }
> = {
  paper: { options: DD },
  best_prompt: { options: { ...DD, objective: "best_prompt" } },
  // Amendment 3 (before any of its results): the best-prompt objective whose eq. 3 term draws
  // c~ as the low-rank sampler does, so the mixtures that sampling draws are trained.
  consistent: { options: { ...DD, objective: "best_prompt", trainSampler: "low_rank" } },
  textual_inversion: { options: { ...COMMON, mode: "textual_inversion" } },
  omega_per_image: { options: { ...DD, omega: "per_image" }, variant: true },
  "lambda_0": { options: { ...DD, lambda: 0 }, variant: true },
  "lambda_0.05": { options: { ...DD, lambda: 0.05 }, variant: true },
  // Amendment 6: a soft-min over each reference's S samples instead of their mean.
  sample_softmin: {
    options: { ...DD, sampleSoftmin: 0.05 },
    samplers: ["diagonal", "low_rank"],
  },
  // Amendment 7: the same with the product's S (4).
  sample_softmin_s4: {
    options: { ...DD, S: 4, sampleSoftmin: 0.05 },
    samplers: ["diagonal", "low_rank"],
  },
  // Amendment 10: a softer soft-min, between the paper's mean and tau 0.05.
  "sample_softmin_s4_t0.2": {
    options: { ...DD, S: 4, sampleSoftmin: 0.2 },
    samplers: ["diagonal"],
  },
};
const SAMPLERS: SamplerKind[] = ["diagonal", "low_rank", "mixture"];
/**
 * The gamma sweep's rows: both trainings with every sampler. (Amended before any sweep result:
 * the first version swept only the paper's diagonal form and the best-prompt rows, which left
 * the paper training's low-rank and mixture rows without a sweep.)
 */
const SWEEP_ROWS = [
  "dd_paper_diagonal",
  "dd_paper_low_rank",
  "dd_paper_mixture",
  "dd_best_prompt_diagonal",
  "dd_best_prompt_low_rank",
  "dd_best_prompt_mixture",
  "dd_consistent_low_rank",
  "dd_sample_softmin_diagonal",
  "dd_sample_softmin_low_rank",
  "dd_sample_softmin_s4_diagonal",
  "dd_sample_softmin_s4_low_rank",
  "dd_sample_softmin_s4_t0.2_diagonal",
];

/** A row of the table: a training and a sampler, or a baseline. */
interface Row {
  name: string;
  training?: string;
  sampler?: SamplerKind;
}

const ROWS: Row[] = [
  { name: "textual_inversion", training: "textual_inversion", sampler: "diagonal" },
  ...Object.keys(TRAININGS).filter((t) => t !== "textual_inversion").flatMap((t) =>
    (TRAININGS[t]!.samplers ??
      (TRAININGS[t]!.variant ? ["diagonal", "mixture"] as SamplerKind[] : SAMPLERS)).map((s) => ({
        name: `dd_${t}_${s}`,
        training: t,
        sampler: s,
      }))
  ),
  { name: "short_caption" },
  { name: "own_captions" },
  { name: "ideal_sampler" },
];

/**
 * The row the product uses by default (chosen on the development concepts by amendment 9's
 * rule; see the README): the paper's objective (S 2, no soft-min) with the diagonal sampler.
 */
export const PRODUCT_DEFAULT = "dd_paper_diagonal";
/**
 * The rows swept on every seed, whose dial is judged: the product default, the rows that were
 * the default before it (amendments 6 and 7), and amendment 10's candidate.
 */
const DIAL_ROWS = [
  ...new Set([
    PRODUCT_DEFAULT,
    "dd_sample_softmin_diagonal",
    "dd_sample_softmin_s4_diagonal",
    "dd_sample_softmin_s4_t0.2_diagonal",
  ]),
];

/** What one cell keeps: the analysed scene keys (null: misread) and the D&C values. */
interface Cell {
  scenes: (string | null)[];
  density: number;
  dcCoverage: number;
  seconds: number;
}

const keyScene = (k: string | null): Scene | null => {
  if (k === null) return null;
  const [kind, colour, size, count, position, background] = k.split("|");
  return { kind, colour, size, count, position, background } as Scene;
};

async function readJson<T>(path: string): Promise<T | null> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as T;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify(value));
  await Deno.rename(tmp, path);
}

const OPTIONS: OptionTable = {
  model: { type: "string", arg: "NAME|DIR", default: "dd-world-tiny", help: "model" },
  seeds: { type: "string", arg: "0,1,...", default: "0,1,2,3,4,5", help: "seeds" },
  concepts: {
    type: "string",
    arg: "a,b",
    help: "built-in concepts (default: the development set)",
  },
  "concepts-file": {
    type: "string",
    arg: "F",
    help: 'a JSON array of {"name", "description", "constraints"} instead',
  },
  out: {
    type: "string",
    arg: "DIR",
    default: "eval",
    help: "results, cache and trained distributions",
  },
  json: { type: "string", arg: "FILE", help: "also write the results as JSON" },
  markdown: {
    type: "string",
    arg: "FILE",
    help: "write the report here (default: OUT/eval.md), e.g. a report of other seeds",
  },
  chart: {
    type: "string",
    arg: "FILE",
    help: "the gamma-sweep chart (default: OUT/gamma_sweep.png)",
  },
  shard: {
    type: "string",
    arg: "i/n",
    default: "0/1",
    help: "this process takes every n-th (concept, seed) pair from i",
  },
  rows: { type: "string", arg: "a,b", help: "only these rows (default: all)" },
  "variants-all-seeds": {
    type: "boolean",
    help: "run the variant rows on every seed of --seeds, not only seed 0 (amendment 4)",
  },
  report: { type: "boolean", help: "only aggregate what is cached" },
  threads: {
    type: "string",
    arg: "N",
    default: "0",
    help: "ONNX Runtime intra-op threads (0: its default)",
  },
  n: { type: "string", arg: "N", default: "200", help: "images per row (shrinks the protocol)" },
  "sweep-n": { type: "string", arg: "N", default: "100", help: "images per gamma-sweep cell" },
  steps: { type: "string", arg: "N", default: "10", help: "denoising steps" },
  "train-steps": { type: "string", arg: "N", default: "200", help: "training steps" },
  k: { type: "string", arg: "N", default: "16", help: "prompts K of the distributions" },
};

/** Runs the evaluation; returns the exit code. */
export const main: TaskMain = defineTask({
  usage: "usage: deno task eval [options]",
  about: "Protocol v2 of the method's evaluation on the shape world (see core/tasks/eval.ts).\n" +
    "--n, --sweep-n, --steps, --train-steps and --k shrink the protocol's sizes for quick\n" +
    "looks; such a report says it is not the protocol.",
  options: OPTIONS,
  run: ({ values: v, io }) => {
    const s = (k: string, d: string) => (typeof v[k] === "string" ? v[k] as string : d);
    const opt = (k: string) => (typeof v[k] === "string" ? v[k] as string : undefined);
    return evaluate({
      model: s("model", "dd-world-tiny"),
      seeds: s("seeds", "0,1,2,3,4,5"),
      concepts: opt("concepts"),
      "concepts-file": opt("concepts-file"),
      out: s("out", "eval"),
      json: opt("json"),
      markdown: opt("markdown"),
      chart: opt("chart"),
      shard: s("shard", "0/1"),
      rows: opt("rows"),
      variantsAllSeeds: v["variants-all-seeds"] === true,
      report: v.report === true,
      threads: s("threads", "0"),
      n: opt("n"),
      "sweep-n": opt("sweep-n"),
      steps: opt("steps"),
      "train-steps": opt("train-steps"),
      k: opt("k"),
    }, io.out);
  },
});

interface EvalArgs {
  model: string;
  seeds: string;
  concepts: string | undefined;
  "concepts-file": string | undefined;
  out: string;
  json: string | undefined;
  markdown: string | undefined;
  chart: string | undefined;
  shard: string;
  rows: string | undefined;
  variantsAllSeeds: boolean;
  report: boolean;
  threads: string;
  n: string | undefined;
  "sweep-n": string | undefined;
  steps: string | undefined;
  "train-steps": string | undefined;
  k: string | undefined;
}

async function evaluate(values: EvalArgs, out: (line: string) => void): Promise<number> {
  let concepts: Concept[];
  try {
    concepts = await chooseConcepts(values.concepts, values["concepts-file"]);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const seeds = values.seeds.split(",").map(Number);
  const [shard, shards] = values.shard.split("/").map(Number) as [number, number];
  if (seeds.some((s) => !Number.isInteger(s) || s < 0) || !(shards >= 1 && shard < shards)) {
    throw new UsageError("--seeds must be non-negative integers and --shard i/n with 0 <= i < n");
  }
  const sizes = { ...PROTOCOL };
  for (const [flag, key] of SIZE_FLAGS) {
    const v = (values as unknown as Record<string, string | boolean | undefined>)[flag];
    if (typeof v !== "string") continue;
    if (!/^\d+$/.test(v) || Number(v) < (key === "k" ? 2 : 1)) {
      throw new UsageError(`--${flag} must be a positive integer${key === "k" ? " >= 2" : ""}`);
    }
    sizes[key] = Number(v);
  }
  // Checked before hours of work, not when the report is written.
  for (const flag of ["json", "markdown", "chart"] as const) {
    const path = values[flag];
    if (path !== undefined && (await Deno.stat(path).catch(() => null))?.isDirectory) {
      throw new UsageError(`--${flag} ${path} is a directory; give a file path`);
    }
  }
  const wanted = values.rows?.split(",");
  const unknown = wanted?.filter((w) => !ROWS.some((r) => r.name === w)) ?? [];
  if (unknown.length > 0) {
    throw new UsageError(
      `unknown --rows ${unknown.join(", ")}; known: ${ROWS.map((r) => r.name).join(", ")}`,
    );
  }
  const rows = wanted ? ROWS.filter((r) => wanted.includes(r.name)) : ROWS;
  const t0 = performance.now();
  await Deno.mkdir(join(values.out, "cache"), { recursive: true });
  const engine = new Engine({
    store: new FsStore(join(values.out, "store")),
    resolveModel,
    defaultModel: values.model,
    cacheDir: join(values.out, "graphs"),
    sessionOptions: Number(values.threads) > 0 ? { intraOpThreads: Number(values.threads) } : {},
  });
  try {
    const model = await engine.model();
    if (!values.report) {
      // Amendment 5: the product default's sweep on the seeds the full sweep does not cover.
      const dial = (some: number[]) =>
        some.filter((s) => !SWEEP_SEEDS.includes(s)).flatMap((s) =>
          concepts.map((c) => ["dial", c, s] as const)
        );
      // Most important first, so a run cut short still reports the main table: the main rows
      // on three seeds, the gamma sweep, a fourth seed, the variants, then more seeds.
      const jobs = [
        ...seeds.slice(0, 3).flatMap((s) => concepts.map((c) => ["main", c, s] as const)),
        ...SWEEP_SEEDS.filter((s) => seeds.includes(s)).flatMap((s) =>
          concepts.map((c) => ["sweep", c, s] as const)
        ),
        ...dial(seeds.slice(0, 3)),
        ...seeds.slice(3, 4).flatMap((s) => concepts.map((c) => ["main", c, s] as const)),
        ...dial(seeds.slice(3, 4)),
        ...(values.variantsAllSeeds ? seeds : VARIANT_SEEDS.filter((s) => seeds.includes(s)))
          .flatMap((s) => concepts.map((c) => ["variants", c, s] as const)),
        ...seeds.slice(4).flatMap((s) => concepts.map((c) => ["main", c, s] as const)),
        ...dial(seeds.slice(4)),
      ];
      for (const [i, [phase, concept, seed]] of jobs.entries()) {
        if (i % shards !== shard) continue;
        await runPair(
          engine,
          model,
          concept,
          seed,
          rows,
          phase,
          values.out,
          t0,
          sizes,
          values.variantsAllSeeds,
        );
      }
    }
    const report = await aggregate(concepts, seeds, values.out, sizes);
    await Deno.writeTextFile(values.markdown ?? join(values.out, "eval.md"), report.markdown);
    await Deno.writeFile(
      values.chart ?? join(values.out, "gamma_sweep.png"),
      encodePng(report.chart),
    );
    if (values.json) await Deno.writeTextFile(values.json, JSON.stringify(report.json, null, 2));
    out(report.markdown);
    console.error(`eval: ${((performance.now() - t0) / 60000).toFixed(1)} min`);
    return 0;
  } finally {
    await engine.close();
  }
}

async function chooseConcepts(names?: string, file?: string): Promise<Concept[]> {
  if (file !== undefined) {
    if (names !== undefined) throw new Error("give --concepts or --concepts-file, not both");
    return parseConceptsFile(await Deno.readTextFile(file));
  }
  return (names?.split(",") ?? DEV_CONCEPTS).map((n) => {
    const c = CONCEPTS[n as keyof typeof CONCEPTS];
    if (!c) throw new Error(`unknown concept ${n}; known: ${Object.keys(CONCEPTS).join(", ")}`);
    return c;
  });
}

async function runPair(
  engine: Engine,
  model: LoadedModel,
  concept: Concept,
  seed: number,
  rows: Row[],
  phase: "main" | "sweep" | "variants" | "dial",
  out: string,
  t0: number,
  sizes: Sizes,
  variantsAllSeeds = false,
): Promise<void> {
  const dir = join(out, "cache", concept.name, String(seed));
  await Deno.mkdir(dir, { recursive: true });
  const refs = concept.referenceImages(seed, REFERENCES);
  const scenes = refs.map((r) => r.scene);
  const images = refs.map((r, i) => ({ bytes: encodePng(r.image), name: `${concept.name}-${i}` }));
  const real = concept.referenceScenes(seed + 1000, 64).map((s, i) => embedImage(render(s, i)));
  const trained = new Map<string, string>();
  const trainingId = async (name: string): Promise<string> => {
    const known = trained.get(name);
    if (known) return known;
    const path = join(dir, cellFile(`train-${name}`, 1, 0, sizes).replace("@g1n0", ""));
    const cached = await readJson<{ id: string }>(path);
    if (cached && (await engine.get(cached.id).then(() => true, () => false))) {
      trained.set(name, cached.id);
      return cached.id;
    }
    const t = performance.now();
    const m = await engine.train({
      images,
      options: {
        ...TRAININGS[name]!.options,
        ...(name === "textual_inversion" ? {} : { K: sizes.k }),
        steps: sizes.trainSteps,
        seed,
      },
    });
    log(t0, `${concept.name} seed ${seed}: trained ${name} (${sec(t)} s)`);
    await writeJsonAtomic(path, { id: m.id, seconds: (performance.now() - t) / 1000 });
    trained.set(name, m.id);
    return m.id;
  };
  const sampleSeed = 1000 + seed;
  const cell = async (row: Row, gamma: number, n: number): Promise<void> => {
    const path = join(dir, cellFile(row.name, gamma, n, sizes));
    if (await readJson<Cell>(path)) return;
    const variantSeed = variantsAllSeeds || VARIANT_SEEDS.includes(seed);
    if (row.training && TRAININGS[row.training]!.variant && !variantSeed) return;
    const t = performance.now();
    let imgs: RgbImage[];
    if (row.name === "ideal_sampler") {
      const rng = new Rng(sampleSeed).fork("ideal");
      imgs = Array.from({ length: n }, (_, i) => render(sampleScene(rng, concept.constraints), i));
    } else if (row.name === "short_caption" || row.name === "own_captions") {
      const counts = new Map<string, number>();
      for (const s of scenes) counts.set(shortCaption(s), (counts.get(shortCaption(s)) ?? 0) + 1);
      const short = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
      const captions = row.name === "short_caption"
        ? Array(n).fill(short)
        : Array.from({ length: n }, (_, i) => caption(scenes[i % scenes.length]!));
      imgs = await fromCaptions(model, captions, sampleSeed, sizes.steps);
    } else {
      imgs = await engine.sample({
        distributions: [{ id: await trainingId(row.training!), weight: 1 }],
        gamma,
        n,
        seed: sampleSeed,
        steps: sizes.steps,
        batchSize: 50,
        sampler: row.sampler!,
      });
    }
    const dc = densityCoverage(real, imgs.map(embedImage), 5);
    const result: Cell = {
      scenes: imgs.map((img) => {
        const s = analyse(img).scene;
        return s ? sceneKey(s) : null;
      }),
      density: dc.density,
      dcCoverage: dc.coverage,
      seconds: (performance.now() - t) / 1000,
    };
    await writeJsonAtomic(path, result);
    log(t0, `${concept.name} seed ${seed}: ${row.name} gamma ${gamma} n ${n} (${sec(t)} s)`);
  };
  const isVariant = (r: Row) => r.training !== undefined && TRAININGS[r.training]!.variant;
  if (phase === "main") {
    for (const row of rows.filter((r) => !isVariant(r))) await cell(row, 1, sizes.n);
  } else if (phase === "variants") {
    for (const row of rows.filter(isVariant)) await cell(row, 1, sizes.n);
  } else if (phase === "dial") {
    for (const row of rows.filter((r) => DIAL_ROWS.includes(r.name))) {
      for (const g of GAMMAS) await cell(row, g, sizes.sweepN);
    }
  } else {
    for (const row of rows.filter((r) => SWEEP_ROWS.includes(r.name))) {
      for (const g of GAMMAS) await cell(row, g, sizes.sweepN);
    }
  }
}

async function fromCaptions(
  model: LoadedModel,
  captions: string[],
  seed: number,
  steps: number,
): Promise<RgbImage[]> {
  const feats = await Promise.all(captions.map((c) => encodePrompt(model, c)));
  const cond = new Float32Array(feats.reduce((a, f) => a + f.length, 0));
  feats.forEach((f, i) => cond.set(f, i * f.length));
  const uncond = await encodePrompt(model, "");
  const { pixels } = await txt2img(
    model.runtime,
    createScheduler(model.defaultScheduler, model.schedulerConfig),
    cond,
    uncond,
    {
      steps,
      guidance: model.defaultGuidance,
      guidanceRescale: model.defaultGuidanceRescale,
      seed,
      batchSize: 50,
    },
  );
  const side = model.runtime.graphs.info.latentSize * model.runtime.graphs.info.vaeScale;
  const size = 3 * side * side;
  return captions.map((_, i) => fromTensor(pixels.subarray(i * size, (i + 1) * size), side, side));
}

const SIZE_FLAGS: [string, keyof Sizes][] = [
  ["n", "n"],
  ["sweep-n", "sweepN"],
  ["steps", "steps"],
  ["train-steps", "trainSteps"],
  ["k", "k"],
];

/** The cache file of a cell; protocol-sized cells keep the short name. */
function cellFile(row: string, gamma: number, n: number, sizes: Sizes): string {
  const custom = sizes.steps !== PROTOCOL.steps || sizes.trainSteps !== PROTOCOL.trainSteps ||
    sizes.k !== PROTOCOL.k;
  return `${row}@g${gamma}n${n}${
    custom ? `-s${sizes.steps}t${sizes.trainSteps}k${sizes.k}` : ""
  }.json`;
}

const sec = (t: number) => ((performance.now() - t) / 1000).toFixed(0);
const log = (t0: number, what: string) =>
  console.error(`eval: ${what}; ${((performance.now() - t0) / 60000).toFixed(1)} min so far`);

/** Per-row means over the seeds that have the cell. */
interface Summary {
  fidelity: number;
  support_coverage: number;
  on_concept_diversity: number;
  density: number;
  dc_coverage: number;
  seeds: number;
}

async function aggregate(concepts: Concept[], seeds: number[], out: string, sizes: Sizes) {
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const protocol = Object.entries(PROTOCOL).every(([k, v]) => sizes[k as keyof Sizes] === v);
  const json: Record<string, unknown> = {
    product_default: PRODUCT_DEFAULT,
    protocol: protocol ? "v2" : `v2 with changed sizes ${JSON.stringify(sizes)}`,
    concepts: {},
  };
  const lines: string[] = protocol
    ? []
    : [`**Not the protocol:** sizes changed to ${JSON.stringify(sizes)}.`, ""];
  const charts: RgbImage[] = [];
  for (const concept of concepts) {
    const load = async (row: string, gamma: number, n: number) => {
      const got: { seed: number; cell: Cell; scenes: (Scene | null)[] }[] = [];
      for (const seed of seeds) {
        const c = await readJson<Cell>(
          join(out, "cache", concept.name, String(seed), cellFile(row, gamma, n, sizes)),
        );
        if (c) got.push({ seed, cell: c, scenes: c.scenes.map(keyScene) });
      }
      return got;
    };
    const methods: Record<string, Summary> = {};
    const perSeed: Record<string, Map<number, { cov: number; fid: number }>> = {};
    for (const row of ROWS) {
      const cells = await load(row.name, 1, sizes.n);
      if (cells.length === 0) continue;
      const fid = cells.map((c) => fidelity(c.scenes, concept));
      const cov = cells.map((c) => supportCoverage(c.scenes, concept));
      methods[row.name] = {
        fidelity: mean(fid),
        support_coverage: mean(cov),
        on_concept_diversity: mean(cells.map((c) => onConceptDiversity(c.scenes, concept))),
        density: mean(cells.map((c) => c.cell.density)),
        dc_coverage: mean(cells.map((c) => c.cell.dcCoverage)),
        seeds: cells.length,
      };
      perSeed[row.name] = new Map(cells.map((c, i) => [c.seed, { cov: cov[i]!, fid: fid[i]! }]));
    }
    const vs: Record<string, unknown> = {};
    const ti = perSeed.textual_inversion;
    for (const [name, bySeed] of Object.entries(perSeed)) {
      if (!ti || name === "textual_inversion") continue;
      const common = [...bySeed.keys()].filter((s) => ti.has(s));
      if (common.length === 0) continue;
      const b = pairedBootstrap(common.map((s) => bySeed.get(s)!.cov - ti.get(s)!.cov));
      vs[name] = {
        support_coverage_diff: b.mean,
        ci95: b.ci95,
        fidelity_diff: mean(common.map((s) => bySeed.get(s)!.fid - ti.get(s)!.fid)),
        seeds: common.length,
      };
    }
    const sweep: Record<string, SweepPoint[]> = {};
    const bySeed = new Map(
      DIAL_ROWS.map((r) => [r, new Map<number, Map<number, { fid: number; div: number }>>()]),
    );
    for (const row of ROWS.filter((r) => r.name.startsWith("dd_"))) {
      const points = [];
      for (const gamma of GAMMAS) {
        const cells = await load(row.name, gamma, sizes.sweepN);
        if (cells.length === 0) continue;
        const fid = cells.map((c) => fidelity(c.scenes, concept));
        const div = cells.map((c) => onConceptDiversity(c.scenes, concept));
        points.push({
          gamma,
          fidelity: mean(fid),
          on_concept_diversity: mean(div),
          seeds: cells.length,
        });
        bySeed.get(row.name)?.set(
          gamma,
          new Map(cells.map((c, i) => [c.seed, { fid: fid[i]!, div: div[i]! }])),
        );
      }
      if (points.length > 0) sweep[row.name] = points;
    }
    const dial = Object.fromEntries(
      DIAL_ROWS.flatMap((r) => {
        const d = judgeDial(bySeed.get(r)!);
        return d ? [[r, d] as const] : [];
      }),
    );
    (json.concepts as Record<string, unknown>)[concept.name] = {
      support_size: concept.supportScenes().length,
      methods,
      vs_textual_inversion: vs,
      gamma_sweep: sweep,
      ...(Object.keys(dial).length > 0 ? { dial } : {}),
    };
    lines.push(...conceptMarkdown(concept, methods, vs, sweep, dial));
    const series = Object.entries(sweep).filter(([name]) => !/lambda|omega/.test(name));
    if (series.length > 0) {
      charts.push(lineChart(
        series.map(([name, pts]) => ({
          label: name.replace(/^dd_/, "") +
            (pts.some((p) => p.seeds > 1)
              ? ` (${Math.max(...pts.map((p) => p.seeds))} seeds)`
              : ""),
          points: pts.map((p) => ({
            x: p.on_concept_diversity,
            y: p.fidelity,
            label: `${p.gamma}`,
          })),
        })),
        {
          title: `${concept.name}: gamma 0-6 (labels)`,
          xLabel: `on-concept diversity (in-support combinations in ${sizes.sweepN} images)`,
          yLabel: "fidelity",
          yRange: [0, 1],
          width: 640,
          height: 460,
        },
      ));
    }
  }
  const chart = charts.length > 0
    ? makeGrid(
      Array.from(
        { length: Math.ceil(charts.length / 2) },
        (_, r) => charts.slice(2 * r, 2 * r + 2),
      ),
      { pad: 4 },
    )
    : { width: 1, height: 1, data: new Uint8Array(3).fill(255) };
  return { json, markdown: lines.join("\n") + "\n", chart };
}

/** One point of a gamma sweep: means over the seeds that have it. */
interface SweepPoint {
  gamma: number;
  fidelity: number;
  on_concept_diversity: number;
  seeds: number;
}

/** The dial (amendment 5): the product default's steps gamma 0 → 1 → 2, paired over seeds. */
export interface Dial {
  seeds: number;
  diversity_steps: { from: number; to: number; diff: number; ci95: [number, number] }[];
  fidelity_drop: { diff: number; ci95: [number, number] };
  met: boolean;
}

/**
 * Judges the dial from per-gamma, per-seed {fidelity, diversity} of one row: mean diversity
 * rises at each step 0 → 1 → 2 and mean fidelity at gamma 2 is at most 10 points below gamma 0,
 * on the seeds that have all three gammas. Null when no seed has them.
 *
 * @example
 * ```ts
 * import { judgeDial } from "./eval.ts";
 * const at = (fid: number, div: number) => new Map([[0, { fid, div }]]);
 * const d = judgeDial(new Map([[0, at(0.9, 4)], [1, at(0.85, 8)], [2, at(0.82, 12)]]));
 * console.assert(d!.met && d!.seeds === 1);
 * ```
 */
export function judgeDial(
  bySeed: Map<number, Map<number, { fid: number; div: number }>>,
): Dial | null {
  const g = [0, 1, 2].map((x) => bySeed.get(x));
  if (g.some((m) => !m)) return null;
  const seeds = [...g[0]!.keys()].filter((s) => g[1]!.has(s) && g[2]!.has(s));
  if (seeds.length === 0) return null;
  const step = (a: number, b: number, key: "fid" | "div") =>
    pairedBootstrap(seeds.map((s) => g[b]!.get(s)![key] - g[a]!.get(s)![key]));
  const diversity_steps = [[0, 1], [1, 2]].map(([a, b]) => {
    const r = step(a!, b!, "div");
    return { from: a!, to: b!, diff: r.mean, ci95: r.ci95 as [number, number] };
  });
  const f = step(0, 2, "fid");
  return {
    seeds: seeds.length,
    diversity_steps,
    fidelity_drop: { diff: f.mean, ci95: f.ci95 as [number, number] },
    met: diversity_steps.every((s) => s.diff > 0) && f.mean >= -0.1,
  };
}

function conceptMarkdown(
  concept: Concept,
  methods: Record<string, Summary>,
  vs: Record<string, unknown>,
  sweep: Record<string, SweepPoint[]>,
  dials: Record<string, Dial>,
): string[] {
  const f = (x: number) => x.toFixed(3);
  const out = [
    `### ${concept.name} (support ${concept.supportScenes().length} combinations)`,
    "",
    "| row | seeds | fidelity | on-concept diversity | support coverage | coverage − TI [95% CI] | fidelity − TI | density | D&C coverage |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const [name, m] of Object.entries(methods)) {
    const d = vs[name] as
      | { support_coverage_diff: number; ci95: number[]; fidelity_diff: number }
      | undefined;
    out.push(
      `| ${name}${name === PRODUCT_DEFAULT ? " (default)" : ""} | ${m.seeds} | ${
        f(m.fidelity)
      } | ` +
        `${m.on_concept_diversity.toFixed(1)} | ${f(m.support_coverage)} | ` +
        (d ? `${f(d.support_coverage_diff)} [${f(d.ci95[0]!)}, ${f(d.ci95[1]!)}]` : "") +
        ` | ${d ? f(d.fidelity_diff) : ""} | ${f(m.density)} | ${f(m.dc_coverage)} |`,
    );
  }
  out.push("", "| gamma sweep | seeds | " + GAMMAS.map((g) => `γ ${g}`).join(" | ") + " |");
  out.push("| --- | --- |" + GAMMAS.map(() => " --- |").join(""));
  for (const [name, pts] of Object.entries(sweep)) {
    const at = (g: number) => pts.find((p) => p.gamma === g);
    out.push(
      `| ${name} | ${Math.max(...pts.map((p) => p.seeds))} | ` +
        GAMMAS.map((g) => {
          const p = at(g);
          return p ? `${p.on_concept_diversity.toFixed(1)} / ${f(p.fidelity)}` : "";
        }).join(" | ") + " |",
    );
  }
  out.push("", "(sweep cells: on-concept diversity / fidelity; means over the seeds)", "");
  const iv = (x: { diff: number; ci95: [number, number] }, d: number) =>
    `${x.diff.toFixed(d)} [${x.ci95[0].toFixed(d)}, ${x.ci95[1].toFixed(d)}]`;
  for (const [name, dial] of Object.entries(dials)) {
    out.push(
      `Dial (${name}, ${dial.seeds} seeds): diversity γ 0 → 1 ` +
        `${iv(dial.diversity_steps[0]!, 1)}, γ 1 → 2 ${iv(dial.diversity_steps[1]!, 1)}; ` +
        `fidelity γ 0 → 2 ${iv(dial.fidelity_drop, 3)}: **${dial.met ? "met" : "not met"}**.`,
      "",
    );
  }
  return out;
}

if (import.meta.main) await runMain(main);
