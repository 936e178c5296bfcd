/**
 * Training checkpoints of `deno task train` as one JSON file (arrays as base64 of their
 * little-endian bytes, so a resumed run continues bit for bit), written atomically.
 *
 * @module
 */
import {
  checkpointBody,
  parseCheckpointBody,
  type TrainCheckpoint,
  type TrainOptions,
} from "../distribution/mod.ts";
import { UsageError } from "./_cli.ts";

const FORMAT = "dreamdistribution-train-checkpoint/1";

/** Options that may differ between a checkpoint and the run resuming it. */
const FREE: ReadonlySet<string> = new Set(["steps", "checkpointEvery"]);

/** The file: the checkpoint's body (checkpoint.ts) inside this envelope. */
interface CheckpointFile {
  format: string;
  model: string;
  options: Record<string, unknown>;
  step: number;
}

/**
 * Writes `c` to `path` (temp file then rename).
 * @example
 * ```ts ignore
 * await writeCheckpoint("run.json", checkpoint, options, "tiny-sd2-fixture");
 * ```
 */
export async function writeCheckpoint(
  path: string,
  c: TrainCheckpoint,
  options: TrainOptions,
  model: string,
): Promise<void> {
  const file = {
    format: FORMAT,
    model,
    options: JSON.parse(JSON.stringify(options)),
    ...checkpointBody(c),
  };
  const tmp = `${path}.tmp-${crypto.randomUUID()}`;
  await Deno.writeTextFile(tmp, JSON.stringify(file));
  await Deno.rename(tmp, path);
}

/**
 * Reads a checkpoint for a run with `options` on `model`.
 * @throws UsageError when the file is missing or malformed, was made for another model or
 * with other options (besides steps and checkpointEvery), or is already at `options.steps`.
 */
export async function readCheckpoint(
  path: string,
  options: TrainOptions,
  model: string,
): Promise<TrainCheckpoint> {
  let f: CheckpointFile;
  try {
    f = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new UsageError(`cannot read checkpoint ${path}: ${(e as Error).message}`);
  }
  if (f?.format !== FORMAT) throw new UsageError(`${path} is not a training checkpoint`);
  if (f.model !== model) {
    throw new UsageError(`checkpoint ${path} is for model ${f.model}, not ${model}`);
  }
  const now: Record<string, unknown> = JSON.parse(JSON.stringify(options));
  for (const key of new Set([...Object.keys(now), ...Object.keys(f.options)])) {
    if (FREE.has(key)) continue;
    if (JSON.stringify(now[key]) !== JSON.stringify(f.options[key])) {
      throw new UsageError(
        `checkpoint ${path} was made with ${key}=${JSON.stringify(f.options[key])}, ` +
          `this run has ${JSON.stringify(now[key])}`,
      );
    }
  }
  if (f.step >= options.steps) {
    throw new UsageError(`checkpoint ${path} is at step ${f.step}; --steps must be larger`);
  }
  const c = parseCheckpointBody(f);
  if (c === null) throw new UsageError(`${path} is not a training checkpoint`);
  return c;
}
