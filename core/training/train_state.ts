/**
 * The full state of a base-model training run (raw weights and AdamW moments), saved so
 * `model:train --resume` continues exactly where it stopped. One file: a little-endian
 * uint32 header length, a JSON header, then the vectors in header order (8-byte aligned).
 *
 * @module
 */
import { join } from "node:path";
import type { AdamWState } from "../optim/mod.ts";

/** What a resumed run needs beyond the EMA weights of the checkpoint. */
export interface TrainState {
  /** Global steps done. */
  step: number;
  text: Float32Array;
  unet: Float32Array;
  adamText: AdamWState;
  adamUnet: AdamWState;
}

const FILE = "train_state.bin";

interface Header {
  format: "dd-train-state-1";
  step: number;
  adamTextStep: number;
  adamUnetStep: number;
  /** [name, dtype, length] in file order. */
  vectors: [string, "f32" | "f64", number][];
}

/** Writes the state atomically into `dir`. */
export async function writeTrainState(dir: string, s: TrainState): Promise<void> {
  const vectors: [string, Float32Array | Float64Array][] = [
    ["text", s.text],
    ["unet", s.unet],
    ["adamText.m", s.adamText.m],
    ["adamText.v", s.adamText.v],
    ["adamUnet.m", s.adamUnet.m],
    ["adamUnet.v", s.adamUnet.v],
  ];
  const header: Header = {
    format: "dd-train-state-1",
    step: s.step,
    adamTextStep: s.adamText.step,
    adamUnetStep: s.adamUnet.step,
    vectors: vectors.map(([n, v]) => [n, v instanceof Float32Array ? "f32" : "f64", v.length]),
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const start = Math.ceil((4 + json.length) / 8) * 8;
  const size = vectors.reduce((a, [, v]) => a + Math.ceil(v.byteLength / 8) * 8, start);
  const bytes = new Uint8Array(size);
  new DataView(bytes.buffer).setUint32(0, json.length, true);
  bytes.set(json, 4);
  let at = start;
  for (const [, v] of vectors) {
    bytes.set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), at);
    at += Math.ceil(v.byteLength / 8) * 8;
  }
  await Deno.mkdir(dir, { recursive: true });
  const tmp = join(dir, `${FILE}.tmp-${crypto.randomUUID()}`);
  await Deno.writeFile(tmp, bytes);
  await Deno.rename(tmp, join(dir, FILE));
}

/** Reads the state from `dir`; null when there is none. */
export async function readTrainState(dir: string): Promise<TrainState | null> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(join(dir, FILE));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  const fail = (why: string): never => {
    throw new Error(`training state ${join(dir, FILE)} is unreadable: ${why}`);
  };
  if (bytes.length < 4) fail("truncated");
  const n = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
  let header: Header;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + n))) as Header;
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
