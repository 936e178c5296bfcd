/**
 * Safetensors bytes for float32 tensors, written the way the Python `safetensors` library
 * writes them and read with the same validation, so artifacts open in PyTorch and Python-made
 * files open here. (Reading big model files in place, as ONNX external data, is
 * core/models/safetensors.ts; this module holds whole files in memory.)
 *
 * Layout: 8-byte little-endian header length N, then N bytes of JSON
 * (`{"__metadata__":{...},"name":{"dtype":"F32","shape":[...],"data_offsets":[begin,end]},...}`)
 * padded with spaces to a multiple of 8, then the tensors' bytes, back to back, in name order;
 * offsets count from the end of the header.
 *
 * @module
 */

/** A float32 tensor: row-major data and its shape. */
export interface Float32Tensor {
  data: Float32Array;
  shape: number[];
  /**
   * How {@linkcode writeSafetensors} stores it: `F32` (default) or `F16` (IEEE half, rounded
   * to nearest even; what fp16 tools expect). {@linkcode readSafetensors} reads F32 only.
   */
  dtype?: "F32" | "F16";
}

/** What a safetensors file holds. */
export interface SafetensorsContents {
  /** Tensors by name, in the order of their data in the file. */
  tensors: Map<string, Float32Tensor>;
  /** The `__metadata__` string map (`{}` when absent). */
  metadata: Record<string, string>;
}

/** The largest header accepted, as in the Rust library. */
const MAX_HEADER = 100_000_000;
const METADATA = "__metadata__";

/**
 * Encodes float32 tensors as safetensors bytes, byte for byte as the Python library would:
 * tensors sorted by name, compact JSON header (`__metadata__` first), padded with spaces to a
 * multiple of 8 so the data is aligned.
 *
 * @param tensors Tensors by name; each `data.length` must equal the product of its `shape`.
 * @param metadata Optional `__metadata__` string map.
 * @returns The file's bytes.
 * @throws {RangeError} For an empty or reserved name, a bad shape, or data of the wrong length.
 *
 * @example
 * ```ts
 * import { readSafetensors, writeSafetensors } from "./safetensors_write.ts";
 * const bytes = writeSafetensors({ w: { data: new Float32Array([1, 2, 3, 4]), shape: [2, 2] } });
 * const back = readSafetensors(bytes).tensors.get("w");
 * console.assert(back?.data[3] === 4 && back.shape.join() === "2,2");
 * ```
 */
export function writeSafetensors(
  tensors: Record<string, Float32Tensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  const names = Object.keys(tensors).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") {
        throw new RangeError(`safetensors metadata '${k}' is not a string`);
      }
    }
    header[METADATA] = metadata;
  }
  let offset = 0;
  for (const name of names) {
    const t = tensors[name]!;
    if (name === "" || name === METADATA) {
      throw new RangeError(`safetensors: invalid tensor name '${name}'`);
    }
    if (!(t.data instanceof Float32Array)) {
      throw new RangeError(`safetensors: tensor '${name}' data is not a Float32Array`);
    }
    const count = shapeSize(t.shape);
    if (count === null) {
      throw new RangeError(`safetensors: tensor '${name}' has a bad shape [${t.shape}]`);
    }
    if (count !== t.data.length) {
      throw new RangeError(
        `safetensors: tensor '${name}' has ${t.data.length} values, shape [${t.shape}] needs ${count}`,
      );
    }
    const size = t.dtype === "F16" ? 2 : 4;
    header[name] = {
      dtype: t.dtype ?? "F32",
      shape: t.shape,
      data_offsets: [offset, offset + count * size],
    };
    offset += count * size;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + padded + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  let at = 8 + padded;
  for (const name of names) {
    const t = tensors[name]!;
    const bytes = t.dtype === "F16"
      ? halfBytes(t.data)
      : new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    out.set(bytes, at);
    at += bytes.byteLength;
  }
  return out;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * The IEEE 754 half-precision bits of `x` (rounded to nearest, ties to even; overflow to
 * infinity, NaN kept).
 *
 * @example
 * ```ts
 * import { float16Bits } from "./safetensors_write.ts";
 * console.assert(float16Bits(1) === 0x3c00 && float16Bits(-2) === 0xc000);
 * ```
 */
export function float16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 112; // rebias 127 -> 15
  if (e >= 0x1f) return sign | 0x7c00;
  // Normal: drop 13 bits; subnormal (e <= 0): shift the implicit 1 in as well.
  const full = e > 0 ? mant : mant | 0x800000;
  const shift = e > 0 ? 13 : 14 - e;
  if (shift > 24) return sign;
  let h = (e > 0 ? e << 10 : 0) | (full >>> shift);
  const rem = full & ((1 << shift) - 1), half = 1 << (shift - 1);
  if (rem > half || (rem === half && (h & 1) === 1)) h++; // a carry may reach inf: correct
  return sign | h;
}

/** Little-endian F16 bytes of `data`. */
function halfBytes(data: Float32Array): Uint8Array {
  const out = new Uint8Array(data.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) view.setUint16(i * 2, float16Bits(data[i]!), true);
  return out;
}

/**
 * Decodes and validates safetensors bytes holding float32 tensors. The tensors' data are
 * copies (aligned, independent of `bytes`), bit for bit.
 *
 * @param bytes The whole file.
 * @returns Tensors (in data order) and metadata.
 * @throws {Error} Starting "invalid safetensors:", for a truncated file, a header that is not a
 * JSON object, a bad entry (dtype other than F32, bad shape, byte range not matching the shape),
 * offsets out of range, overlapping or leaving gaps, or bytes after the last tensor.
 *
 * @example
 * ```ts
 * import { readSafetensors } from "./safetensors_write.ts";
 * try {
 *   readSafetensors(new Uint8Array(4));
 * } catch (e) {
 *   console.assert(String(e).includes("truncated"));
 * }
 * ```
 */
export function readSafetensors(bytes: Uint8Array): SafetensorsContents {
  if (bytes.length < 8) fail(`truncated file (${bytes.length} bytes, no header length)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER)) fail(`header length ${n64} is larger than ${MAX_HEADER}`);
  const n = Number(n64);
  if (8 + n > bytes.length) {
    fail(`truncated file (header of ${n} bytes, only ${bytes.length - 8} after the length)`);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch {
    fail("header is not valid UTF-8 JSON");
  }
  if (!isObject(header)) fail("header is not a JSON object");
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  let metadata: Record<string, string> = {};
  const entries: { name: string; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === METADATA) {
      metadata = parseMetadata(raw);
      continue;
    }
    const what = `tensor '${name}'`;
    if (!isObject(raw)) fail(`${what} entry is not an object`);
    if (typeof raw.dtype !== "string") fail(`${what} has no dtype`);
    if (raw.dtype !== "F32") fail(`${what} has dtype ${raw.dtype}; only F32 is supported`);
    if (!Array.isArray(raw.shape)) fail(`${what} has no shape`);
    const shape = raw.shape as unknown[];
    const count = shapeSize(shape);
    if (count === null) fail(`${what} shape [${shape}] is not a list of non-negative integers`);
    const offs = raw.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every(isIndex)) {
      fail(`${what} data_offsets must be two non-negative integers`);
    }
    const [begin, end] = offs as [number, number];
    if (begin > end) fail(`${what} data_offsets [${begin}, ${end}] are reversed`);
    if (end - begin !== count * 4) {
      fail(`${what} byte range [${begin}, ${end}) does not match shape [${shape}] of F32`);
    }
    if (end > dataLen) {
      fail(`truncated file or offset out of range (${what} ends at ${end}, data has ${dataLen})`);
    }
    entries.push({ name, shape: shape as number[], begin, end });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  for (const e of entries) {
    if (e.begin < expected) fail(`tensor '${e.name}' overlaps the previous tensor`);
    if (e.begin > expected) fail(`gap before tensor '${e.name}' (at ${expected}..${e.begin})`);
    expected = e.end;
  }
  if (expected !== dataLen) fail(`${dataLen - expected} bytes after the last tensor`);
  const tensors = new Map<string, Float32Tensor>();
  for (const e of entries) {
    const copy = bytes.slice(dataStart + e.begin, dataStart + e.end);
    tensors.set(e.name, { data: new Float32Array(copy.buffer), shape: e.shape });
  }
  return { tensors, metadata };
}

function fail(why: string): never {
  throw new Error(`invalid safetensors: ${why}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isIndex(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/** The element count of a shape of non-negative integers; `null` for anything else. */
function shapeSize(shape: unknown[]): number | null {
  if (!Array.isArray(shape) || !shape.every(isIndex)) return null;
  const count = (shape as number[]).reduce((a, b) => a * b, 1);
  return Number.isSafeInteger(count * 4) ? count : null;
}

function parseMetadata(raw: unknown): Record<string, string> {
  if (!isObject(raw)) fail("__metadata__ is not an object");
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== "string") fail(`__metadata__ '${k}' is not a string`);
    out[k] = v;
  }
  return out;
}
