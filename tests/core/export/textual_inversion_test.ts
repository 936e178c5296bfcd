/**
 * Textual-inversion export: the exact file layout AUTOMATIC1111 and ComfyUI read (one tensor
 * `emb_params` [M, d], F32 or F16, offsets and header as the safetensors spec says), values
 * round-trip, names and selection checked.
 */
import assert from "node:assert/strict";
import type {
  DistributionTensors,
  Manifest,
} from "../../../core/artifacts/distribution_artifact.ts";
import { float16Bits, readSafetensors } from "../../../core/artifacts/safetensors_write.ts";
import { selectPrompts, textualInversionFiles } from "../../../core/export/textual_inversion.ts";

const [K, M, L, d] = [12, 3, 5, 8];

function fixture(): { manifest: Manifest; tensors: DistributionTensors } {
  const ctx = new Float32Array(K * M * d).map((_, i) => (i % 97) / 16 - 3);
  const manifest = {
    format: "dreamdistribution/1",
    id: "dd_testtesttesttesttest",
    createdAt: new Date(0).toISOString(),
    model: { name: "dd-world-tiny", revision: "abc" },
    K,
    M,
    L,
    d,
    template: { prefix: "", suffix: "" },
    options: {},
    references: [],
    lossCurve: [1, 0.5],
    files: { "prompts.safetensors": { sha256: "0".repeat(64), size: 0 } },
  } as Manifest;
  return {
    manifest,
    tensors: {
      ctx: { data: ctx, shape: [K, M, d] },
      mu: { data: new Float32Array(L * d), shape: [L, d] },
      sigma: { data: new Float32Array(L * d), shape: [L, d] },
    },
  };
}

/** The raw header JSON and data section of a safetensors file. */
function split(bytes: Uint8Array): { header: Record<string, unknown>; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  return { header, data: bytes.subarray(8 + n) };
}

Deno.test("textualInversionFiles() writes one emb_params [M, d] F32 tensor per prompt, values exact", () => {
  const { manifest, tensors } = fixture();
  const files = textualInversionFiles(manifest, tensors);
  assert.equal(files.length, K);
  for (const [k, f] of files.entries()) {
    assert.equal(f.k, k);
    assert.equal(f.name, `dd_testtesttesttesttest-k${String(k).padStart(2, "0")}`);
    assert.equal(f.fileName, `${f.name}.safetensors`);
    const { header, data } = split(f.bytes);
    // Exactly one tensor (A1111 asserts one key), named emb_params (ComfyUI, A1111 exports).
    assert.deepEqual(Object.keys(header).sort(), ["__metadata__", "emb_params"]);
    assert.deepEqual(header.emb_params, {
      dtype: "F32",
      shape: [M, d],
      data_offsets: [0, M * d * 4],
    });
    assert.equal(data.length, M * d * 4);
    const meta = header.__metadata__ as Record<string, string>;
    assert.equal(meta.prompt, String(k));
    assert.equal(meta.distribution, manifest.id);
    assert.equal(meta.model, "dd-world-tiny");
    const back = readSafetensors(f.bytes).tensors.get("emb_params")!;
    assert.deepEqual(back.data, tensors.ctx.data.subarray(k * M * d, (k + 1) * M * d));
  }
});

Deno.test("textualInversionFiles() writes F16 on request, a subset in the order given", () => {
  const { manifest, tensors } = fixture();
  const files = textualInversionFiles(manifest, tensors, {
    prompts: [7, 2],
    dtype: "float16",
    name: "my-style",
  });
  assert.deepEqual(files.map((f) => f.fileName), [
    "my-style-k07.safetensors",
    "my-style-k02.safetensors",
  ]);
  const { header, data } = split(files[0]!.bytes);
  assert.deepEqual(header.emb_params, {
    dtype: "F16",
    shape: [M, d],
    data_offsets: [0, M * d * 2],
  });
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < M * d; i++) {
    assert.equal(view.getUint16(i * 2, true), float16Bits(tensors.ctx.data[7 * M * d + i]!));
  }
});

Deno.test("float16Bits() rounds to nearest even and handles the edges", () => {
  const cases: [number, number][] = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.1, 0x2e66],
    [65504, 0x7bff],
    [65520, 0x7c00], // rounds up to infinity
    [1e6, 0x7c00],
    [Infinity, 0x7c00],
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -25, 0x0000], // tie: rounds to even (0)
    [3 * 2 ** -25, 0x0002], // tie: rounds to even (2)
    [2 ** -14, 0x0400], // smallest normal
    [1 + 2 ** -11, 0x3c00], // tie below: even
    [1 + 3 * 2 ** -11, 0x3c02], // tie above: even
  ];
  for (const [x, bits] of cases) assert.equal(float16Bits(x), bits, `float16Bits(${x})`);
  assert.equal(float16Bits(NaN) & 0x7c00, 0x7c00);
  assert.notEqual(float16Bits(NaN) & 0x3ff, 0);
});

Deno.test("selectPrompts() and textualInversionFiles() refuse bad selections and names", () => {
  const { manifest, tensors } = fixture();
  assert.deepEqual(selectPrompts(3), [0, 1, 2]);
  assert.throws(() => selectPrompts(3, []), /no prompt/);
  assert.throws(
    () => selectPrompts(3, [3]),
    /prompt 3 is out of range: this distribution has K = 3/,
  );
  assert.throws(() => selectPrompts(3, [-1]), /out of range/);
  assert.throws(() => selectPrompts(3, [1, 1]), /twice/);
  assert.throws(() => textualInversionFiles(manifest, tensors, { name: "../x" }), /name/);
  assert.throws(() => textualInversionFiles(manifest, tensors, { name: "" }), /name/);
});

Deno.test("float16Bits() agrees with the engine's Float16Array on 200 000 random float32 values", () => {
  const F16 = (globalThis as {
    Float16Array?: new (n: number) => { [i: number]: number; buffer: ArrayBuffer };
  })
    .Float16Array;
  assert.ok(F16, "Deno 2.9.6 (V8) has Float16Array");
  const half = new F16(1), halfBits = new Uint16Array(half.buffer);
  const f = new Float32Array(1), bits = new Uint32Array(f.buffer);
  let state = 12345;
  for (let i = 0; i < 200_000; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    bits[0] = state;
    if (Number.isNaN(f[0])) continue;
    half[0] = f[0]!;
    assert.equal(float16Bits(f[0]!), halfBits[0], `bits ${state.toString(16)}`);
  }
});
