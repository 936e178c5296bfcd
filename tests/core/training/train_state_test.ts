import assert from "node:assert/strict";
import { join } from "node:path";
import {
  readTrainState,
  type TrainState,
  writeTrainState,
} from "../../../core/training/train_state.ts";

function state(step: number): TrainState {
  const adam = (k: number) => ({
    step,
    m: new Float64Array([k, -k / 3, 1e-300]),
    v: new Float64Array([k * k, Math.PI, 0]),
  });
  return {
    step,
    text: new Float32Array([0.1, -2.5, 3e-38]),
    unet: new Float32Array([1 / 3, Number.MIN_VALUE, -0]),
    adamText: adam(1),
    adamUnet: adam(7),
  };
}

/** The earlier binary writer ("dd-train-state-1"), kept here to make a legacy file. */
async function writeLegacy(dir: string, s: TrainState): Promise<void> {
  const vectors: [string, Float32Array | Float64Array][] = [
    ["text", s.text],
    ["unet", s.unet],
    ["adamText.m", s.adamText.m],
    ["adamText.v", s.adamText.v],
    ["adamUnet.m", s.adamUnet.m],
    ["adamUnet.v", s.adamUnet.v],
  ];
  const json = new TextEncoder().encode(JSON.stringify({
    format: "dd-train-state-1",
    step: s.step,
    adamTextStep: s.adamText.step,
    adamUnetStep: s.adamUnet.step,
    vectors: vectors.map(([n, v]) => [n, v instanceof Float32Array ? "f32" : "f64", v.length]),
  }));
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
  await Deno.writeFile(join(dir, "train_state.bin"), bytes);
}

Deno.test("writeTrainState() then readTrainState() gives the state back bit for bit", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(await readTrainState(dir), null);
    await writeTrainState(dir, state(5));
    assert.deepEqual(await readTrainState(dir), state(5));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readTrainState() still reads a legacy train_state.bin; a write replaces it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeLegacy(dir, state(3));
    assert.deepEqual(await readTrainState(dir), state(3));
    await writeTrainState(dir, state(4));
    assert.deepEqual(await readTrainState(dir), state(4));
    await assert.rejects(Deno.stat(join(dir, "train_state.bin")), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readTrainState() refuses a damaged state file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "train_state.json"), '{"format":"other"}');
    await assert.rejects(readTrainState(dir), /unreadable/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
