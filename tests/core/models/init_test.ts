import assert from "node:assert/strict";
import { parseClipTextConfig } from "../../../core/models/config.ts";
import { clipTextShapes, initTensor } from "../../../core/models/init.ts";
import { readSafetensorsIndex } from "../../../core/models/safetensors.ts";
import { Rng } from "../../../core/random.ts";
import { SD2_DIR } from "../../helpers/tiny_model.ts";

Deno.test("clipTextShapes reproduces the fixture's CLIPTextModel state dict", async () => {
  const raw = JSON.parse(await Deno.readTextFile(`${SD2_DIR}/text_encoder/config.json`));
  const index = await readSafetensorsIndex(`${SD2_DIR}/text_encoder/model.safetensors`);
  const stored = new Map([...index.tensors].map(([k, e]) => [k, e.shape]));
  const want = clipTextShapes(parseClipTextConfig(raw));
  // The fixture's text encoder also stores position_ids (a buffer), which is not a weight.
  stored.delete("text_model.embeddings.position_ids");
  assert.deepEqual([...want].sort(), [...stored].sort());
});

Deno.test("initTensor follows PyTorch defaults (bounds, norms, embeddings)", () => {
  const rng = new Rng(1);
  const w = initTensor("down.conv1.weight", [8, 4, 3, 3], rng);
  assert.ok(w.every((v) => Math.abs(v) <= 1 / 6) && w.some((v) => Math.abs(v) > 0.1));
  assert.ok(initTensor("x.norm1.weight", [4], rng).every((v) => v === 1));
  assert.ok(initTensor("x.layer_norm1.bias", [4], rng).every((v) => v === 0));
  const e = initTensor("text_model.embeddings.token_embedding.weight", [100, 8], rng);
  const std = Math.sqrt(e.reduce((a, v) => a + v * v, 0) / e.length);
  assert.ok(Math.abs(std - 0.02) < 0.003, `std ${std}`);
});
