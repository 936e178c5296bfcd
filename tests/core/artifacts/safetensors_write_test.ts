/** Safetensors bytes: bit-exact round trips, the Python library's layout, refusals. */
import assert from "node:assert/strict";
import { readSafetensors, writeSafetensors } from "../../../core/artifacts/safetensors_write.ts";

const enc = new TextEncoder();

/** A file from a header string (padded with spaces to a multiple of 8) and data bytes. */
function build(header: string, data: Uint8Array, pad = true): Uint8Array {
  let h = enc.encode(header);
  if (pad && h.length % 8 !== 0) h = enc.encode(header + " ".repeat(8 - (h.length % 8)));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

const f32 = (...v: number[]) => new Uint8Array(new Float32Array(v).buffer);
const bytesOf = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/**
 * Made by the Python library (safetensors 0.8.0, numpy):
 * `save({"sigma": arange(6).reshape(2,3)*0.5, "ctx": [[[1.5,-2]]], "mu": zeros((2,3))},
 * metadata={"format": "pt"})`, all float32.
 */
const PYTHON_FILE =
  "2AAAAAAAAAB7Il9fbWV0YWRhdGFfXyI6eyJmb3JtYXQiOiJwdCJ9LCJjdHgiOnsiZHR5cGUiOiJGMzIiLCJz" +
  "aGFwZSI6WzEsMSwyXSwiZGF0YV9vZmZzZXRzIjpbMCw4XX0sIm11Ijp7ImR0eXBlIjoiRjMyIiwic2hhcGUiOlsy" +
  "LDNdLCJkYXRhX29mZnNldHMiOls4LDMyXX0sInNpZ21hIjp7ImR0eXBlIjoiRjMyIiwic2hhcGUiOlsyLDNdLCJk" +
  "YXRhX29mZnNldHMiOlszMiw1Nl19fSAgICAgICAAAMA/AAAAwAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" +
  "AAA/AACAPwAAwD8AAABAAAAgQA==";

Deno.test("writeSafetensors() then readSafetensors() round-trips bit for bit", () => {
  const weird = new Float32Array([0, -0, 1e-45, -3.4e38, Math.PI, NaN, Infinity, -Infinity]);
  // A NaN with a payload: its bits must survive too.
  new DataView(weird.buffer).setUint32(5 * 4, 0x7fc12345, true);
  const big = Float32Array.from({ length: 2 * 3 * 5 }, (_, i) => Math.sin(i) * 1e3);
  const bytes = writeSafetensors(
    { z: { data: weird, shape: [8] }, a: { data: big, shape: [2, 3, 5] } },
    { format: "pt", note: "hi" },
  );
  const back = readSafetensors(bytes);
  assert.deepEqual(back.metadata, { format: "pt", note: "hi" });
  assert.deepEqual([...back.tensors.keys()], ["a", "z"]);
  assert.deepEqual(back.tensors.get("a")!.shape, [2, 3, 5]);
  assert.deepEqual(back.tensors.get("z")!.shape, [8]);
  assert.deepEqual(bytesOf(back.tensors.get("a")!.data), bytesOf(big));
  assert.deepEqual(bytesOf(back.tensors.get("z")!.data), bytesOf(weird));
  // The header is padded to a multiple of 8.
  assert.equal(Number(new DataView(bytes.buffer).getBigUint64(0, true)) % 8, 0);
});

Deno.test("writeSafetensors() handles subarray views, scalars and empty tensors", () => {
  const base = new Float32Array([9, 1, 2, 9]);
  const bytes = writeSafetensors({
    v: { data: base.subarray(1, 3), shape: [2] },
    s: { data: new Float32Array([7]), shape: [] },
    e: { data: new Float32Array(0), shape: [0, 4] },
  });
  const t = readSafetensors(bytes).tensors;
  assert.deepEqual(Array.from(t.get("v")!.data), [1, 2]);
  assert.deepEqual(t.get("s")!.shape, []);
  assert.equal(t.get("s")!.data[0], 7);
  assert.deepEqual(t.get("e")!.shape, [0, 4]);
  assert.equal(t.get("e")!.data.length, 0);
});

Deno.test("writeSafetensors() writes the same bytes as the Python library", () => {
  const py = Uint8Array.from(atob(PYTHON_FILE), (c) => c.charCodeAt(0));
  const read = readSafetensors(py);
  assert.deepEqual(read.metadata, { format: "pt" });
  assert.deepEqual(Array.from(read.tensors.get("ctx")!.data), [1.5, -2]);
  assert.deepEqual(Array.from(read.tensors.get("sigma")!.data), [0, 0.5, 1, 1.5, 2, 2.5]);
  const ours = writeSafetensors(
    {
      sigma: { data: new Float32Array([0, 0.5, 1, 1.5, 2, 2.5]), shape: [2, 3] },
      mu: { data: new Float32Array(6), shape: [2, 3] },
      ctx: { data: new Float32Array([1.5, -2]), shape: [1, 1, 2] },
    },
    { format: "pt" },
  );
  assert.deepEqual(ours, py);
});

Deno.test("readSafetensors() reads a header written the Python way by hand", () => {
  const header =
    `{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`;
  const file = build(header, f32(1.25, -7));
  const r = readSafetensors(file);
  assert.deepEqual(r.metadata, { format: "pt" });
  assert.deepEqual(Array.from(r.tensors.get("a")!.data), [1.25, -7]);
  assert.deepEqual(writeSafetensors({ a: r.tensors.get("a")! }, { format: "pt" }), file);
  // Unpadded headers (older writers) put the data off alignment: still read.
  const odd = build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f32(3), false);
  assert.equal(readSafetensors(odd).tensors.get("a")!.data[0], 3);
  // A view into a larger buffer, at an odd offset.
  const shifted = new Uint8Array(file.length + 3);
  shifted.set(file, 3);
  assert.deepEqual(Array.from(readSafetensors(shifted.subarray(3)).tensors.get("a")!.data), [
    1.25,
    -7,
  ]);
});

Deno.test("readSafetensors() refuses truncated files", () => {
  const file = writeSafetensors({ a: { data: new Float32Array([1, 2, 3]), shape: [3] } });
  assert.throws(() => readSafetensors(file.subarray(0, 5)), /invalid safetensors: truncated/);
  assert.throws(() => readSafetensors(file.subarray(0, 20)), /truncated file \(header of/);
  assert.throws(() => readSafetensors(file.subarray(0, file.length - 1)), /truncated file or/);
  assert.throws(() => readSafetensors(new Uint8Array(0)), /truncated/);
});

Deno.test("readSafetensors() refuses corrupt headers", () => {
  const t = (h: string, data = f32(1, 2)) => () => readSafetensors(build(h, data));
  const huge = new Uint8Array(16);
  new DataView(huge.buffer).setBigUint64(0, 2n ** 62n, true);
  assert.throws(() => readSafetensors(huge), /header length .* is larger/);
  assert.throws(t(`{"a":{"dtype":"F32"`), /not valid UTF-8 JSON/);
  assert.throws(t(`[1,2]`), /not a JSON object/);
  assert.throws(t(`{"a":5}`), /entry is not an object/);
  assert.throws(t(`{"a":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}}`), /only F32/);
  assert.throws(t(`{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`), /shape/);
  assert.throws(t(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}}`), /data_offsets/);
  assert.throws(t(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}`), /reversed/);
  assert.throws(t(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`), /does not match/);
  assert.throws(
    t(`{"__metadata__":{"x":1},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`),
    /__metadata__/,
  );
  const notUtf8 = build("{}      ", new Uint8Array());
  notUtf8[9] = 0xff; // inside the header
  assert.throws(() => readSafetensors(notUtf8), /not valid UTF-8/);
});

Deno.test("readSafetensors() refuses overlapping, gapped and out-of-range offsets", () => {
  const a = `"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}`;
  const overlap = `{${a},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`;
  assert.throws(() => readSafetensors(build(overlap, f32(1, 2, 3))), /'b' overlaps/);
  const gap = `{${a},"b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}}`;
  assert.throws(() => readSafetensors(build(gap, f32(1, 2, 3, 4))), /gap before tensor 'b'/);
  const past = `{${a},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`;
  assert.throws(() => readSafetensors(build(past, f32(1, 2))), /out of range/);
  assert.throws(() => readSafetensors(build(`{${a}}`, f32(1, 2, 3))), /4 bytes after the last/);
});

Deno.test("writeSafetensors() refuses bad names, shapes and data", () => {
  const d = new Float32Array(4);
  assert.throws(() => writeSafetensors({ a: { data: d, shape: [3] } }), RangeError);
  assert.throws(() => writeSafetensors({ a: { data: d, shape: [2, -2] } }), /bad shape/);
  assert.throws(() => writeSafetensors({ a: { data: d, shape: [2.5, 2] } }), /bad shape/);
  assert.throws(() => writeSafetensors({ __metadata__: { data: d, shape: [4] } }), /name/);
  const f64 = new Float64Array(4) as unknown as Float32Array;
  assert.throws(() => writeSafetensors({ a: { data: f64, shape: [4] } }), /Float32Array/);
  const meta = { n: 1 } as unknown as Record<string, string>;
  assert.throws(() => writeSafetensors({}, meta), /metadata 'n'/);
});
