import assert from "node:assert/strict";
import { join } from "node:path";
import { openSafetensors } from "../../../core/models/checkpoint.ts";
import {
  buildClipTextEncoder,
  buildClipTextEncoderEmbeds,
  TOKEN_EMBEDDING,
} from "../../../core/models/clip_text.ts";
import { parseClipTextConfig } from "../../../core/models/config.ts";
import { readSafetensorsIndex } from "../../../core/models/safetensors.ts";
import { tensorBytes } from "../../../core/onnx/model.ts";
import { DType } from "../../../core/onnx/types.ts";
import {
  maxAbsErr,
  REF,
  refRows,
  rows,
  runOnce,
  SD2,
  type StEntry,
  writeSafetensors,
} from "./_sd_fixture.ts";

const config = parseClipTextConfig(
  JSON.parse(await Deno.readTextFile(`${SD2}/text_encoder/config.json`)),
);
const weights = await openSafetensors(SD2, "text_encoder", "model.safetensors");
const ref = REF.text_encoder;
const TOL = 1e-4;

Deno.test("buildClipTextEncoder() reproduces transformers' last_hidden_state at batch 2 and 1", async () => {
  const model = buildClipTextEncoder(config, weights, SD2);
  assert.deepEqual(model.graph.inputs[0]!.shape, ["batch", 77]);
  assert.equal(model.graph.inputs[0]!.dtype, DType.INT32);
  assert.deepEqual(model.graph.outputs[0]!.shape, ["batch", 77, 32]);
  let worst = 0;
  for (const picks of [[0, 1], [0], [1]]) {
    const out = await runOnce(
      model,
      { input_ids: rows(ref.input_ids, picks) },
      "last_hidden_state",
    );
    assert.deepEqual(out.dims, [picks.length, 77, 32]);
    worst = Math.max(worst, maxAbsErr(out.data, refRows(ref.last_hidden_state, picks)));
  }
  console.log(`text encoder (ids) max |err| ${worst.toExponential(2)}`);
  assert.ok(worst <= TOL, `max |err| ${worst}`);
});

Deno.test("buildClipTextEncoder({ pooled }) reproduces transformers' legacy argmax pooling", async () => {
  const model = buildClipTextEncoder(config, weights, SD2, { pooled: true });
  const out = await runOnce(model, { input_ids: rows(ref.input_ids, [0, 1]) }, "pooler_output");
  assert.deepEqual(out.dims, [2, 32]);
  const err = maxAbsErr(out.data, ref.pooler_output.data);
  assert.ok(err <= TOL, `max |err| ${err}`);
});

Deno.test("the embeds graph equals the ids graph when fed the token-table rows", async () => {
  const table = weights.tensor(TOKEN_EMBEDDING)!;
  assert.ok(table.external && !table.data, "the token table is an external tensor");
  const bytes = await tensorBytes(table, SD2);
  const vocab = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const ids = ref.input_ids.data;
  const embeds = new Float32Array(ids.length * 32);
  ids.forEach((id, i) => embeds.set(vocab.subarray(id * 32, id * 32 + 32), i * 32));
  const fromIds = await runOnce(
    buildClipTextEncoder(config, weights, SD2),
    { input_ids: rows(ref.input_ids, [0, 1]) },
    "last_hidden_state",
  );
  const embedsModel = buildClipTextEncoderEmbeds(config, weights, SD2);
  assert.deepEqual(embedsModel.graph.inputs[0]!.shape, ["batch", 77, 32]);
  const fromEmbeds = await runOnce(
    embedsModel,
    { inputs_embeds: { dtype: "float32", dims: [2, 77, 32], data: embeds } },
    "last_hidden_state",
  );
  const err = maxAbsErr(fromEmbeds.data, fromIds.data);
  const errRef = maxAbsErr(fromEmbeds.data, ref.last_hidden_state.data);
  console.log(
    `embeds vs ids max |err| ${err.toExponential(2)}, vs reference ${errRef.toExponential(2)}`,
  );
  assert.ok(err <= 1e-6, `embeds vs ids ${err}`);
  assert.ok(errRef <= TOL, `embeds vs reference ${errRef}`);
  // Batch 1 of the embeds graph.
  const one = await runOnce(
    embedsModel,
    { inputs_embeds: { dtype: "float32", dims: [1, 77, 32], data: embeds.slice(77 * 32) } },
    "last_hidden_state",
  );
  assert.ok(maxAbsErr(one.data, refRows(ref.last_hidden_state, [1])) <= TOL);
});

Deno.test("buildClipTextEncoder() with a shorter sequence slices the position table", async () => {
  const model = buildClipTextEncoder(config, weights, SD2, { seqLength: 8 });
  const ids = rows(ref.input_ids, [0]);
  const out = await runOnce(
    model,
    { input_ids: { dtype: "int32", dims: [1, 8], data: (ids.data as Int32Array).slice(0, 8) } },
    "last_hidden_state",
  );
  // Causal attention: the first 8 positions do not see the rest.
  const want = refRows(ref.last_hidden_state, [0]).slice(0, 8 * 32);
  assert.ok(maxAbsErr(out.data, want) <= TOL);
  assert.throws(
    () => buildClipTextEncoder(config, weights, SD2, { seqLength: 78 }),
    /78 is outside 1\.\.77/,
  );
});

/** float32 → bfloat16 bytes, rounding to nearest even. */
function toBf16(f32: Float32Array): Uint8Array {
  const bits = new Uint32Array(f32.buffer, f32.byteOffset, f32.length);
  return new Uint8Array(
    Uint16Array.from(bits, (b) => (b + 0x7fff + ((b >>> 16) & 1)) >>> 16).buffer,
  );
}

Deno.test("fp16 and bf16 weights are referenced as they are and cast to float32 in the graph", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const src = `${SD2}/text_encoder/model.safetensors`;
    const index = await readSafetensorsIndex(src);
    const file = await Deno.readFile(src);
    for (
      const [variant, dtype, tol] of [["fp16", DType.FLOAT16, 1e-2], [
        "bf16",
        DType.BFLOAT16,
        1e-1,
      ]] as const
    ) {
      const entries: StEntry[] = [...index.tensors].map(([name, e]) => {
        const f32 = new Float32Array(file.slice(e.offset, e.offset + e.length).buffer);
        const bytes = variant === "fp16"
          ? new Uint8Array(Float16Array.from(f32).buffer)
          : toBf16(f32);
        return { name, dtype: variant === "fp16" ? "F16" : "BF16", shape: e.shape, bytes };
      });
      await writeSafetensors(join(dir, "text_encoder", `model.${variant}.safetensors`), entries);
      const w = await openSafetensors(dir, "text_encoder", "model.safetensors", variant);
      const model = buildClipTextEncoder(config, w, dir);
      assert.ok(model.graph.initializers.every((t) => !t.external || t.dtype === dtype));
      assert.ok(model.graph.nodes.some((n) => n.opType === "Cast"));
      assert.equal(w.tensor(TOKEN_EMBEDDING)!.dtype, dtype);
      const out = await runOnce(
        model,
        { input_ids: rows(ref.input_ids, [0, 1]) },
        "last_hidden_state",
      );
      const err = maxAbsErr(out.data, ref.last_hidden_state.data);
      console.log(`text encoder with ${variant} weights max |err| ${err.toExponential(2)}`);
      assert.ok(err <= tol, `${variant} weights: max |err| ${err}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
