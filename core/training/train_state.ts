/**
 * The full state of a base-model training run (raw weights and AdamW moments), saved so
 * `model:train --resume` continues exactly where it stopped. One JSON file,
 * `train_state.json` (format "dd-train-state-2"), written with the training-state
 * serialisation every checkpoint shares (core/optim/state_body.ts: vectors as base64 of their
 * little-endian bytes). A directory holding only the earlier binary `train_state.bin`
 * ("dd-train-state-1": uint32 header length, JSON header, 8-byte aligned vectors) still loads.
 *
 * @module
 */
import { join } from "node:path";
import { z } from "zod";
import {
  adamStateBody,
  AdamStateBodySchema,
  type AdamWState,
  float32FromBody,
  floatsBody,
  parseAdamStateBody,
} from "../optim/mod.ts";

/** What a resumed run needs beyond the EMA weights of the checkpoint. */
export interface TrainState {
  /** Global steps done. */
  step: number;
  text: Float32Array;
  unet: Float32Array;
  adamText: AdamWState;
  adamUnet: AdamWState;
}

const FILE = "train_state.json";
const LEGACY_FILE = "train_state.bin";

const StateBodySchema = z.object({
  format: z.literal("dd-train-state-2"),
  step: z.number().int().min(0),
  text: z.string(),
  unet: z.string(),
  adamText: AdamStateBodySchema,
  adamUnet: AdamStateBodySchema,
});

/** Writes the state atomically into `dir` (and drops a legacy binary state there). */
export async function writeTrainState(dir: string, s: TrainState): Promise<void> {
  const body: z.infer<typeof StateBodySchema> = {
    format: "dd-train-state-2",
    step: s.step,
    text: floatsBody(s.text),
    unet: floatsBody(s.unet),
    adamText: adamStateBody(s.adamText),
    adamUnet: adamStateBody(s.adamUnet),
  };
  await Deno.mkdir(dir, { recursive: true });
  const tmp = join(dir, `${FILE}.tmp-${crypto.randomUUID()}`);
  await Deno.writeTextFile(tmp, JSON.stringify(body));
  await Deno.rename(tmp, join(dir, FILE));
  await Deno.remove(join(dir, LEGACY_FILE)).catch(() => {});
}

/** Reads the state from `dir` (the JSON file, else a legacy binary one); null when none. */
export async function readTrainState(dir: string): Promise<TrainState | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(join(dir, FILE));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return await readLegacyTrainState(dir);
    throw e;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  const r = StateBodySchema.safeParse(json);
  if (!r.success) {
    throw new Error(`training state ${join(dir, FILE)} is unreadable: not a dd-train-state-2`);
  }
  const b = r.data;
  return {
    step: b.step,
    text: float32FromBody(b.text),
    unet: float32FromBody(b.unet),
    adamText: parseAdamStateBody(b.adamText),
    adamUnet: parseAdamStateBody(b.adamUnet),
  };
}

/** Header of the legacy binary format, read only. */
interface LegacyHeader {
  format: "dd-train-state-1";
  step: number;
  adamTextStep: number;
  adamUnetStep: number;
  /** [name, dtype, length] in file order. */
  vectors: [string, "f32" | "f64", number][];
}

/** A legacy `train_state.bin` ("dd-train-state-1"); null when there is none. */
async function readLegacyTrainState(dir: string): Promise<TrainState | null> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(join(dir, LEGACY_FILE));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  const fail = (why: string): never => {
    throw new Error(`training state ${join(dir, LEGACY_FILE)} is unreadable: ${why}`);
  };
  if (bytes.length < 4) fail("truncated");
  const n = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
  let header: LegacyHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + n))) as LegacyHeader;
  } catch {
    return fail("bad header");
  }
  if (header.format !== "dd-train-state-1") fail(`unknown format ${header.format}`);
  const copy = new Uint8Array(bytes); // aligned, owned buffer
  let at = Math.ceil((4 + n) / 8) * 8;
  const out = new Map<string, Float32Array | Float64Array>();
  for (const [name, dtype, length] of header.vectors) {
    const width = dtype === "f32" ? 4 : 8;
    if (at + length * width > copy.length) fail("truncated");
    out.set(
      name,
      dtype === "f32"
        ? new Float32Array(copy.buffer, at, length)
        : new Float64Array(copy.buffer, at, length),
    );
    at += Math.ceil((length * width) / 8) * 8;
  }
  const get32 = (k: string) => {
    const v = out.get(k);
    return v instanceof Float32Array ? v : fail(`missing ${k}`);
  };
  const get64 = (k: string) => {
    const v = out.get(k);
    return v instanceof Float64Array ? v : fail(`missing ${k}`);
  };
  return {
    step: header.step,
    text: get32("text"),
    unet: get32("unet"),
    adamText: { step: header.adamTextStep, m: get64("adamText.m"), v: get64("adamText.v") },
    adamUnet: { step: header.adamUnetStep, m: get64("adamUnet.m"), v: get64("adamUnet.v") },
  };
}
