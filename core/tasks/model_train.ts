/**
 * `deno task model:train [--out DIR] [--steps N] [--batch B] [--lr LR] [--seed S] [--resume]`
 * `deno task model:train --promote [--out DIR] [--name NAME]`
 *
 * Trains the embedded default model from scratch on the procedural shape world (see
 * core/training/train_world_model.ts). Writes a diffusers-layout pixel-space checkpoint into a
 * work folder (default `.data/models/dd-world-tiny`, relative to the caller's directory), never
 * into a folder pinned in models.lock: the shipped model stays verifiable. `--promote` copies
 * a work folder's checkpoint into the pinned folder of NAME and re-pins it in models.lock (the
 * one explicit way to replace the shipped model). `--resume` on an empty work folder starts
 * from a copy of the pinned model.
 * @module
 */
import { basename, dirname, join, relative, resolve } from "node:path";
import { DEFAULT_LOCK_PATH, isPending, readModelsLock } from "../models/mod.ts";
import { trainWorldModel, WORLD_SCHEDULES } from "../training/mod.ts";
import {
  choice,
  defineTask,
  type FullTaskIo,
  isDirectory,
  num,
  runMain,
  str,
  type TaskMain,
  UsageError,
} from "./_cli.ts";
import { main as lockMain } from "./models_lock.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const NAME = "dd-world-tiny";

/** The default work folder of a model (relative to the caller's directory). */
export function workFolder(name: string): string {
  return join(".data", "models", name);
}

/**
 * The folders pinned in a models.lock (absolute), by entry name.
 * @throws Error when the lock file cannot be read.
 */
async function pinnedFolders(lockPath: string): Promise<Map<string, string>> {
  const lock = await readModelsLock(lockPath);
  const out = new Map<string, string>();
  for (const [name, e] of Object.entries(lock.models)) {
    if (!isPending(e) && "path" in e.source) {
      out.set(name, resolve(dirname(lockPath), e.source.path));
    }
  }
  return out;
}

/** Every file under `dir` (relative paths), without dot-files such as session caches. */
async function modelFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for await (const e of Deno.readDir(join(dir, rel))) {
      if (e.name.startsWith(".")) continue;
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) await walk(p);
      else if (e.isFile) out.push(p);
    }
  };
  await walk("");
  return out.sort();
}

/** Copies a checkpoint's files (no dot-files) from `from` into `to`, each atomically. */
async function copyModel(from: string, to: string): Promise<number> {
  const files = await modelFiles(from);
  for (const p of files) {
    const dest = join(to, p);
    await Deno.mkdir(dirname(dest), { recursive: true });
    const tmp = `${dest}.tmp-${crypto.randomUUID()}`;
    await Deno.copyFile(join(from, p), tmp);
    await Deno.rename(tmp, dest);
  }
  return files.length;
}

/** Runs the task; returns the exit code. */
export const main: TaskMain = defineTask({
  usage: "usage: deno task model:train [--out DIR] [options]\n" +
    "       deno task model:train --promote [--out DIR] [--name NAME]",
  about: "Trains the embedded shape-world model from scratch into a work folder. The pinned\n" +
    "folder of models.lock is never written, except by --promote, which copies the work\n" +
    "folder's checkpoint there and re-pins it.",
  options: {
    out: {
      type: "string",
      arg: "DIR",
      default: workFolder(NAME),
      help: "work folder of the checkpoint (never a folder pinned in models.lock)",
    },
    steps: { type: "string", arg: "N", default: "4000", help: "training steps" },
    batch: { type: "string", arg: "B", default: "16", help: "images per step" },
    lr: { type: "string", arg: "LR", default: "1e-3", help: "AdamW learning rate" },
    "min-snr": {
      type: "string",
      arg: "G",
      default: "0",
      help: "Min-SNR-gamma loss weighting; 0 is the plain DDPM loss (on dd-world-tiny, gamma " +
        "5 raised the plain loss, see the README)",
    },
    schedule: {
      type: "string",
      arg: "S",
      default: "v",
      help: "noise schedule: v (v-prediction, zero terminal SNR) or epsilon (the schedule " +
        "dd-world-tiny's first 8900 steps used, to replay them)",
    },
    "lr-end": {
      type: "string",
      arg: "LR",
      help: "learning rate at this run's last step, by a cosine decay from --lr " +
        "(default: --lr, a constant rate)",
    },
    warmup: {
      type: "string",
      arg: "N",
      default: "200",
      help: "linear learning-rate warm-up steps for fresh optimiser state",
    },
    seed: { type: "string", arg: "S", default: "0", help: "seed" },
    "save-every": {
      type: "string",
      arg: "N",
      default: "200",
      help: "write EMA weights and training state every N steps",
    },
    state: {
      type: "string",
      arg: "DIR",
      default: ".cache/model-train/<name of --out> in the repository",
      help: "training-state folder: raw weights + AdamW moments",
    },
    resume: {
      type: "boolean",
      help: "continue from --out (and its training state); an empty --out starts from a " +
        "copy of the pinned model",
    },
    promote: {
      type: "boolean",
      help: "copy --out's checkpoint into NAME's pinned folder and re-pin it in models.lock",
    },
    name: {
      type: "string",
      arg: "NAME",
      default: NAME,
      help: "models.lock folder entry that --resume starts from and --promote replaces",
    },
    lock: { type: "string", arg: "FILE", default: "models.lock", help: "the models.lock" },
  },
  run: async ({ values, io }) => {
    const out = resolve(str(values, "out") ?? workFolder(NAME));
    const name = str(values, "name") ?? NAME;
    const lockPath = resolve(str(values, "lock") ?? DEFAULT_LOCK_PATH);
    const pinned = await pinnedFolders(lockPath);
    const target = pinned.get(name);
    if (values.promote) return await promote(out, name, target, lockPath, io);
    const pinnedHit = [...pinned].find(([, dir]) => dir === out);
    if (pinnedHit) {
      throw new UsageError(
        `--out ${out} is ${pinnedHit[0]}'s pinned folder: train into a work folder ` +
          `(default ${workFolder(pinnedHit[0])}), then --promote`,
      );
    }
    const positive = { integer: true, min: 1 };
    const steps = num(values, "steps", 4000, positive);
    const batch = num(values, "batch", 16, positive);
    const lr = num(values, "lr", 1e-3, { min: 0, exclusiveMin: true });
    const lrEnd = str(values, "lr-end") === undefined
      ? undefined
      : num(values, "lr-end", 0, { min: 0 });
    const minSnrGamma = num(values, "min-snr", 0, { min: 0 });
    const warmupSteps = num(values, "warmup", 200, { integer: true, min: 0 });
    const saveEvery = num(values, "save-every", 200, positive);
    const seed = num(values, "seed", 0, { integer: true, min: 0 });
    const scheduleName = choice(
      values,
      "schedule",
      Object.keys(WORLD_SCHEDULES) as (keyof typeof WORLD_SCHEDULES)[],
      "v",
    );
    const resume = values.resume === true;
    if (resume && target && !(await isDirectory(join(out, "unet")))) {
      const n = await copyModel(target, out);
      io.err(`model:train: starting from a copy of ${name} (${n} files) in ${out}`);
    }
    const t0 = performance.now();
    let done = 0;
    const curve = await trainWorldModel({
      out,
      clipTokenizerDir: `${ROOT}tests/fixtures/clip-tokenizer`,
      steps,
      batch,
      lr,
      lrEnd,
      seed,
      emaDecay: 0.999,
      captionDropout: 0.1,
      saveEvery,
      resume,
      minSnrGamma,
      warmupSteps,
      stateDir: str(values, "state") ?? `${ROOT}.cache/model-train/${basename(out)}`,
      schedule: WORLD_SCHEDULES[scheduleName],
      onNotice: (message) => io.err(message),
      onProgress: ({ step, loss, stepsPerSecond: rate }) => {
        // `step` counts from the start of training (it goes on across --resume).
        if (++done === 1 || step % 10 === 0 || done === steps) {
          const eta = (steps - done) / rate;
          io.err(
            `step ${step} (${done}/${steps} this run) loss ${loss.toFixed(4)} ` +
              `${rate.toFixed(2)} it/s ETA ${Math.floor(eta / 60)}m${Math.round(eta % 60)}s`,
          );
        }
      },
    });
    const tail = curve.slice(-50);
    const minutes = ((performance.now() - t0) / 60000).toFixed(1);
    const mean = tail.reduce((a, b) => a + b, 0) / tail.length;
    io.out(
      `trained ${out}: ${steps} steps in ${minutes} min, mean loss of the last ` +
        `${tail.length} steps ${mean.toFixed(4)}` +
        (target ? `; promote with: deno task model:train --promote --out ${out}` : ""),
    );
    return 0;
  },
});

/** Copies the work folder's checkpoint over NAME's pinned folder and re-pins it. */
async function promote(
  out: string,
  name: string,
  target: string | undefined,
  lockPath: string,
  io: FullTaskIo,
): Promise<number> {
  if (!target) throw new UsageError(`${name} is not a folder entry of ${lockPath}`);
  if (target === out) throw new UsageError(`--out is ${name}'s pinned folder already`);
  if (!(await isDirectory(join(out, "unet")))) {
    throw new UsageError(`nothing to promote: ${out} holds no checkpoint (unet/ missing)`);
  }
  const n = await copyModel(out, target);
  io.err(`model:train: copied ${n} files from ${out} to ${relative(ROOT, target) || target}`);
  return await lockMain([name, "--lock", lockPath], io);
}

if (import.meta.main) await runMain(main);
