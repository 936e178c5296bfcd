/**
 * `deno task train --model NAME --images DIR --out STORE_URL [options]`
 *
 * Learns a prompt distribution from the reference images in DIR and saves it in the store.
 * Every training option of TrainOptionsSchema has a flag (kebab-case); absent flags take the
 * model's own training defaults (`_dd_train_defaults` in its model_index.json, see
 * core/distribution/train_defaults.ts), then the paper's. Arguments, images and options are checked
 * before any work; nothing is written to the store unless training succeeds. Before training
 * it prints the expected duration, and a warning when the references look outside the
 * model's domain. Prints only the distribution id on stdout (`ID=$(deno task train ...)`);
 * the summary, progress and logs go to stderr.
 *
 * @module
 */
import { extname, join } from "node:path";
import {
  defaultCacheDir,
  domainReport,
  expectedSeconds,
  readTrainDefaults,
  type TrainDefaults,
  type TrainOptions,
  TrainOptionsSchema,
  validateTrainOptions,
} from "../distribution/mod.ts";
import { Engine, type ImageInput } from "../engine/mod.ts";
import { encodePng, type RgbImage } from "../images/mod.ts";
import { openStore } from "../store/mod.ts";
import {
  defineTask,
  num,
  type OptionTable,
  parseNumber,
  required,
  runMain,
  str,
  type TaskMain,
  UsageError,
  type Values,
  withInterrupt,
} from "./_cli.ts";
import { readCheckpoint, writeCheckpoint } from "./_checkpoint.ts";
import { DEFAULT_MODEL, MODEL_OPTION, modelArg, resolverWith } from "./_models.ts";
import { formatDuration, ProgressBar } from "./_progress.ts";

type Kind = "int" | "float" | "string" | "bool" | "float-or-off" | readonly string[];

/** Training flags, one per TrainOptionsSchema field. */
const TRAIN_FLAGS: Record<string, { key: keyof TrainOptions; kind: Kind; help: string }> = {
  mode: {
    key: "mode",
    kind: ["distribution", "textual_inversion"],
    help: "distribution (DreamDistribution) or textual_inversion (K=1, sigma=0)",
  },
  k: { key: "K", kind: "int", help: "number of soft prompts K" },
  m: { key: "M", kind: "int", help: "learned vectors per prompt M" },
  s: { key: "S", kind: "int", help: "reparameterised samples c~ per step S" },
  "batch-size": { key: "batchSize", kind: "int", help: "reference images per step" },
  steps: { key: "steps", kind: "int", help: "optimisation steps" },
  lr: { key: "lr", kind: "float", help: "AdamW learning rate" },
  "weight-decay": { key: "weightDecay", kind: "float", help: "AdamW weight decay" },
  "max-grad-norm": { key: "maxGradNorm", kind: "float", help: "gradient-norm clip (0 = off)" },
  lambda: { key: "lambda", kind: "float", help: "weight of the orthogonality loss" },
  ortho: { key: "ortho", kind: ["paper", "pooled"], help: "orthogonality loss form" },
  omega: {
    key: "omega",
    kind: ["shared", "per_image"],
    help: "omega shared by a batch (paper) or per image (authors' code)",
  },
  objective: {
    key: "objective",
    kind: ["paper", "best_prompt"],
    help: "paper (eq. 3-4), or with a term where each reference is explained by its best prompt",
  },
  "best-prompt-weight": {
    key: "bestPromptWeight",
    kind: "float",
    help: "weight of the best-prompt term",
  },
  "best-prompt-temperature": {
    key: "bestPromptTemperature",
    kind: "float",
    help: "softmin temperature on standardised per-reference losses",
  },
  "best-prompt-refresh": {
    key: "bestPromptRefresh",
    kind: "int",
    help: "steps between refreshes of the prompt-to-reference responsibilities",
  },
  "train-sampler": {
    key: "trainSampler",
    kind: ["diagonal", "low_rank"],
    help: "how the eq. 3 term draws c~ while training: diagonal (paper) or low_rank",
  },
  "sample-softmin": {
    key: "sampleSoftmin",
    kind: "float",
    help: "soft-min temperature over the S samples of each reference (0: the paper's mean)",
  },
  sigma: { key: "sigma", kind: ["unbiased", "population"], help: "std estimator over K" },
  "min-snr-gamma": {
    key: "minSnrGamma",
    kind: "float-or-off",
    help: "Min-SNR-gamma loss weighting, a number or off (authors' code: 5)",
  },
  "init-std": { key: "initStd", kind: "float", help: "std of the random init of V" },
  "init-words": { key: "initWords", kind: "string", help: "initialise V from these words" },
  template: { key: "template", kind: "string", help: "training template, {} = learned tokens" },
  flip: { key: "flip", kind: "bool", help: "random horizontal flip of the references" },
  seed: { key: "seed", kind: "int", help: "random seed (same seed, same run)" },
  "checkpoint-every": {
    key: "checkpointEvery",
    kind: "int",
    help: "write a resumable checkpoint to --checkpoint every N steps (0 = never)",
  },
};

const IMAGE_EXTS = new Set([".png", ".jpg", ".jpeg", ".webp"]);

function showDefault(v: unknown): string {
  if (v === null || v === false) return "off";
  if (v === undefined) return "none";
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}

const DEFAULTS = TrainOptionsSchema.parse({});

const OPTIONS: OptionTable = {
  ...MODEL_OPTION,
  images: {
    type: "string",
    arg: "DIR",
    help: "reference images (.png .jpg .jpeg .webp), required",
  },
  out: {
    type: "string",
    arg: "STORE_URL",
    default: "./.data",
    help: "store: a directory or file:/// URL",
  },
  "cache-dir": {
    type: "string",
    arg: "DIR",
    default: "$DD_CACHE_DIR or ~/.cache/dreamdistribution",
    help: "train-step graph cache",
  },
  "no-cache": { type: "boolean", help: "build the train-step graph without caching it" },
  checkpoint: {
    type: "string",
    arg: "FILE",
    default: "./train-checkpoint.json",
    help: "checkpoint file",
  },
  resume: {
    type: "string",
    arg: "FILE",
    help: "resume from a checkpoint written by --checkpoint-every",
  },
  "preview-every": {
    type: "string",
    arg: "N",
    help: "every N steps, write a 2x2 grid sampled from the distribution so far",
  },
  "preview-dir": {
    type: "string",
    arg: "DIR",
    default: "./previews",
    help: "where --preview-every writes preview-step-NNNNNN.png",
  },
  ...Object.fromEntries(
    Object.entries(TRAIN_FLAGS).map(([flag, f]) => {
      const arg = f.kind === "int"
        ? "N"
        : f.kind === "bool"
        ? undefined
        : Array.isArray(f.kind)
        ? (flag === "mode" ? "MODE" : f.kind.join("|"))
        : f.kind === "string"
        ? "TEXT"
        : "X";
      const spec = {
        type: f.kind === "bool" ? "boolean" as const : "string" as const,
        default: f.key === "lambda"
          ? `${validateTrainOptions({}, 1).lambda}; ` +
            `${validateTrainOptions({ ortho: "pooled" }, 1).lambda} with --ortho pooled`
          : showDefault(DEFAULTS[f.key]),
        help: f.help,
      };
      return [flag, arg ? { ...spec, arg } : spec];
    }),
  ),
};

const USAGE = "usage: deno task train --images DIR [--model NAME|DIR] [--out STORE_URL] [options]";

/** The embedded model's training defaults, for --help (none when unreadable). */
function embeddedDefaults(): string {
  try {
    const dir = new URL(`../models/embedded/${DEFAULT_MODEL}/`, import.meta.url).pathname;
    const index = JSON.parse(Deno.readTextFileSync(`${dir}model_index.json`));
    const d = index._dd_train_defaults as { options?: Record<string, unknown> } | undefined;
    const opts = Object.entries(d?.options ?? {}).map(([k, v]) =>
      `--${k.replaceAll("_", "-").toLowerCase()} ${v}`
    );
    return opts.length ? `\n${DEFAULT_MODEL}'s own defaults: ${opts.join(" ")}.` : "";
  } catch {
    return "";
  }
}

const ABOUT = "Learns a prompt distribution (DreamDistribution) from reference images and saves\n" +
  "it in the store. Prints only the distribution id on stdout (ID=$(deno task train ...));\n" +
  "the summary, the expected duration, progress and warnings go to stderr.\n\n" +
  "Defaults: a model's model_index.json may name its own (_dd_train_defaults), which replace\n" +
  "the paper's shown below; flags replace both." + embeddedDefaults() + "\n" +
  "Quick settings: --steps 50 for a first look; --s 1 sends half the images of --s 2\n" +
  "through the UNet per step; the paper's Stable Diffusion settings are --k 32 --s 4\n" +
  "--steps 1500 --lr 1e-3.";

/** The training options given on the command line (absent flags keep the defaults). */
export function trainOptionsFromArgs(values: Values): Partial<TrainOptions> {
  const out: Record<string, unknown> = {};
  for (const [flag, f] of Object.entries(TRAIN_FLAGS)) {
    const v = values[flag];
    if (v === undefined || Array.isArray(v)) continue;
    if (typeof v === "boolean") {
      out[f.key] = v;
      continue;
    }
    if (Array.isArray(f.kind)) {
      if (!f.kind.includes(v)) {
        throw new UsageError(
          `--${flag} must be one of ${f.kind.join(", ")}, got ${JSON.stringify(v)}`,
        );
      }
      out[f.key] = v;
    } else if (f.kind === "int") out[f.key] = parseNumber(`--${flag}`, v, { integer: true });
    else if (f.kind === "float") out[f.key] = parseNumber(`--${flag}`, v);
    else if (f.kind === "float-or-off") {
      out[f.key] = v === "off" ? null : parseNumber(`--${flag}`, v, { min: 0, exclusiveMin: true });
    } else out[f.key] = v;
  }
  return out as Partial<TrainOptions>;
}

/** Rewrites "invalid training option K: ..." to name the flag (--k). */
function flagError(e: unknown): Error {
  const msg = e instanceof Error ? e.message : String(e);
  const m = /^invalid training option (\w+)/.exec(msg);
  const flag = m && Object.entries(TRAIN_FLAGS).find(([, f]) => f.key === m[1])?.[0];
  return new UsageError(flag ? msg.replace(m[0], `invalid --${flag}`) : msg);
}

/**
 * The reference images of a directory (sorted by name; other files ignored).
 * @throws UsageError for a missing directory or one without images.
 */
export async function readImageDir(dir: string): Promise<ImageInput[]> {
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new UsageError(`images directory not found: ${dir}`);
    }
    throw new UsageError(`cannot read images directory ${dir}: ${(e as Error).message}`);
  }
  const names = entries.filter((e) => e.isFile && IMAGE_EXTS.has(extname(e.name).toLowerCase()))
    .map((e) => e.name).sort();
  if (names.length === 0) {
    throw new UsageError(`no images (.png .jpg .jpeg .webp) in ${dir}`);
  }
  return await Promise.all(names.map(async (name) => {
    try {
      return { name, bytes: await Deno.readFile(join(dir, name)) };
    } catch (e) {
      throw new UsageError(`cannot read image ${join(dir, name)}: ${(e as Error).message}`);
    }
  }));
}

/** What the model's defaults, duration figure and domain say about this run (stderr lines). */
function preamble(
  model: string,
  defaults: TrainDefaults,
  valid: TrainOptions,
  pixels: { width: number; height: number; data: Uint8Array }[],
): string[] {
  const lines = [
    `train: ${pixels.length} images, ${valid.mode} K=${valid.K} M=${valid.M} S=${valid.S} ` +
    `batch ${valid.batchSize}, ${valid.steps} steps, lr ${valid.lr} on ${model}`,
  ];
  const secs = expectedSeconds(defaults, valid);
  lines.push(
    secs === undefined
      ? `train: ${model} gives no step time; the progress line shows the ETA after the first step`
      : `train: expected duration about ${formatDuration(secs)} (${model}: ` +
        `${defaults.secondsPerStep} s/step at its defaults on ${defaults.measuredOn ?? "?"}; ` +
        "more on a busy machine, plus a one-time graph build on the first run)",
  );
  const warning = defaults.domain ? domainReport(pixels, defaults.domain, model) : null;
  if (warning) lines.push(warning);
  return lines;
}

/** Runs the task on `args`; returns the exit code. */
export const main: TaskMain = defineTask({
  usage: USAGE,
  about: ABOUT,
  options: OPTIONS,
  run: async ({ values, io }) => {
    const imagesDir = required(values, "images");
    const flags = trainOptionsFromArgs(values);
    const arg = await modelArg(str(values, "model") ?? DEFAULT_MODEL); // resolved once
    const model = arg.name;
    const defaults = await readTrainDefaults(arg.files.dir);
    const options = { ...defaults.options, ...flags };
    const images = await readImageDir(imagesDir);
    let valid: TrainOptions;
    try {
      valid = validateTrainOptions(options, images.length);
    } catch (e) {
      throw flagError(e);
    }
    const checkpointPath = str(values, "checkpoint") ?? "./train-checkpoint.json";
    const resume = str(values, "resume") === undefined
      ? undefined
      : await readCheckpoint(str(values, "resume")!, valid, model);
    const previewEvery = values["preview-every"] === undefined
      ? 0
      : num(values, "preview-every", 0, { integer: true, min: 1, max: valid.steps });
    const previewDir = str(values, "preview-dir") ?? "./previews";
    if (previewEvery > 0) await Deno.mkdir(previewDir, { recursive: true });
    const store = await openStore(str(values, "out") ?? "./.data");
    const cacheDir = values["no-cache"] ? null : str(values, "cache-dir") ?? defaultCacheDir();
    const engine = new Engine({
      store,
      resolveModel: resolverWith(arg),
      defaultModel: DEFAULT_MODEL,
      cacheDir,
    });
    const t0 = performance.now();
    try {
      const pixels = await engine.decodeImages(images);
      for (const line of preamble(model, defaults, valid, pixels)) io.err(line);
      const bar = new ProgressBar({
        total: valid.steps,
        label: "train",
        write: io.progress,
        tty: io.tty,
      });
      const manifest = await withInterrupt((signal) =>
        engine.train({ model, images, decoded: pixels, options: valid }, {
          signal,
          onProgress: (p) =>
            bar.update(p.step, { loss: p.loss, rate: p.stepsPerSecond, eta: p.etaSeconds }),
          onCheckpoint: (c) => writeCheckpoint(checkpointPath, c, valid, model),
          ...(resume ? { resume } : {}),
          ...(previewEvery > 0
            ? {
              preview: {
                every: previewEvery,
                onPreview: async ({ step, image }: { step: number; image: RgbImage }) => {
                  const path = join(
                    previewDir,
                    `preview-step-${String(step).padStart(6, "0")}.png`,
                  );
                  await Deno.writeFile(path, encodePng(image));
                  io.err(`preview: ${path}`);
                },
              },
            }
            : {}),
        }).catch((e) => {
          throw /^invalid training option/.test((e as Error).message) ? flagError(e) : e;
        }).finally(() => bar.finish())
      );
      const loss = manifest.lossCurve.at(-1);
      const secs = ((performance.now() - t0) / 1000).toFixed(1);
      io.err(
        `${manifest.id} in ${store.url}: final loss ${loss?.toFixed(4) ?? "n/a"}, ` +
          `${manifest.lossCurve.length} steps, ${secs}s`,
      );
      io.out(manifest.id);
      return 0;
    } finally {
      await engine.close();
    }
  },
});

if (import.meta.main) await runMain(main);
