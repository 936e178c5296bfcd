/**
 * Training checkpoints of `deno task train` as one JSON file (arrays as base64 of their
 * little-endian bytes, so a resumed run continues bit for bit), written atomically.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { TrainCheckpoint } from "../distribution/train.ts";
import type { TrainOptions } from "../distribution/train_options.ts";
import { UsageError } from "./_cli.ts";

const FORMAT = "dreamdistribution-train-checkpoint/1";

/** Options that may differ between a checkpoint and the run resuming it. */
const FREE: ReadonlySet<string> = new Set(["steps", "checkpointEvery"]);

interface CheckpointFile {
  format: string;
  model: string;
  options: Record<string, unknown>;
  step: number;
  lossCurve: number[];
  ctx: string;
  adam: { step: number; m: string; v: string };
  responsibilities?: number[];
}

const b64 = (a: Float32Array | Float64Array) =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");

function fromB64<T>(text: string, make: (b: ArrayBuffer) => T): T {
  const bytes = Buffer.from(text, "base64");
  return make(new Uint8Array(bytes).buffer);
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
  const file: CheckpointFile = {
    format: FORMAT,
    model,
    options: JSON.parse(JSON.stringify(options)),
    step: c.step,
    lossCurve: c.lossCurve,
    ctx: b64(c.ctx),
    adam: { step: c.adam.step, m: b64(c.adam.m), v: b64(c.adam.v) },
    ...(c.responsibilities ? { responsibilities: c.responsibilities } : {}),
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
  return {
    step: f.step,
    lossCurve: f.lossCurve,
    ctx: fromB64(f.ctx, (b) => new Float32Array(b)),
    adam: {
      step: f.adam.step,
      m: fromB64(f.adam.m, (b) => new Float64Array(b)),
      v: fromB64(f.adam.v, (b) => new Float64Array(b)),
    },
    ...(Array.isArray(f.responsibilities) ? { responsibilities: f.responsibilities } : {}),
  };
}
