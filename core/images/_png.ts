/**
 * PNG to RGB via fast-png, behind two guards: the chunk stream is walked first (truncation is
 * caught before the library runs, and only critical chunks plus tRNS are handed on, so no
 * compressed text or ICC profile is ever inflated), and the image data is inflated once
 * while counting, refusing a stream that inflates past the size IHDR implies.
 *
 * @module
 */
import { convertIndexedToRgb, decode as fastPngDecode, type DecodedPng } from "fast-png";
import { Unzlib } from "fflate";
import { ImageError } from "./image_error.ts";
import type { RgbImage } from "./types.ts";

const KEPT = new Set(["IHDR", "PLTE", "tRNS", "IDAT", "IEND"]);
const ADAM7: [number, number, number, number][] = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

/** Decodes PNG bytes whose header has already passed the limits. */
export function decodePngRgb(bytes: Uint8Array, background: readonly number[]): RgbImage {
  const { kept, idat, width, height, bitsPerPixel, interlaced } = walkChunks(bytes);
  checkInflatedSize(idat, rawSize(width, height, bitsPerPixel, interlaced));
  let png: DecodedPng;
  try {
    png = fastPngDecode(kept, { checkCrc: true });
  } catch (e) {
    throw invalid(e instanceof Error ? e.message : String(e), e);
  }
  return toRgb(png, background);
}

function invalid(message: string, cause?: unknown): ImageError {
  return new ImageError("invalid_image", `png: ${message}`, { cause });
}

interface Walked {
  kept: Uint8Array;
  idat: Uint8Array[];
  width: number;
  height: number;
  bitsPerPixel: number;
  interlaced: boolean;
}

function walkChunks(b: Uint8Array): Walked {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const parts: Uint8Array[] = [b.subarray(0, 8)];
  const idat: Uint8Array[] = [];
  let pos = 8;
  let ended = false;
  while (!ended) {
    if (pos + 12 > b.length) throw invalid("truncated (chunk stream ends before IEND)");
    const length = v.getUint32(pos);
    const type = String.fromCharCode(...b.subarray(pos + 4, pos + 8));
    const end = pos + 12 + length;
    if (end > b.length) throw invalid(`truncated inside a ${JSON.stringify(type)} chunk`);
    if (KEPT.has(type)) parts.push(b.subarray(pos, end));
    if (type === "IDAT") idat.push(b.subarray(pos + 8, pos + 8 + length));
    ended = type === "IEND";
    pos = end;
  }
  if (idat.length === 0) throw invalid("no image data (IDAT)");
  const depth = b[24] ?? 0;
  const channels = ({ 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as Record<number, number>)[b[25] ?? -1];
  if (channels === undefined || ![1, 2, 4, 8, 16].includes(depth)) {
    throw invalid(`unsupported colour type ${b[25]} / bit depth ${depth}`);
  }
  const kept = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    kept.set(p, at);
    at += p.length;
  }
  return {
    kept,
    idat,
    width: v.getUint32(16),
    height: v.getUint32(20),
    bitsPerPixel: depth * channels,
    interlaced: b[28] === 1,
  };
}

/** Bytes of filtered scanlines (a filter byte per row) for the image or its 7 Adam7 passes. */
function rawSize(width: number, height: number, bpp: number, interlaced: boolean): number {
  const lines = (w: number, h: number) => (w > 0 && h > 0 ? h * (1 + Math.ceil((w * bpp) / 8)) : 0);
  if (!interlaced) return lines(width, height);
  return ADAM7.reduce(
    (n, [x0, y0, dx, dy]) => n + lines(Math.ceil((width - x0) / dx), Math.ceil((height - y0) / dy)),
    0,
  );
}

function checkInflatedSize(idat: Uint8Array[], expected: number): void {
  let total = 0;
  const inflator = new Unzlib((chunk) => {
    total += chunk.length;
    if (total > expected) {
      throw invalid(`image data inflates past the ${expected} bytes its header implies`);
    }
  });
  try {
    for (const part of idat) inflator.push(part);
    inflator.push(new Uint8Array(0), true);
  } catch (e) {
    if (e instanceof ImageError) throw e;
    throw invalid(`corrupt image data (${e instanceof Error ? e.message : String(e)})`, e);
  }
  if (total < expected) throw invalid(`truncated image data (${total} of ${expected} bytes)`);
}

/** Any depth, colour type, palette or tRNS to 8-bit RGB, alpha composited over `background`. */
function toRgb(png: DecodedPng, background: readonly number[]): RgbImage {
  const { width, height } = png;
  const n = width * height;
  let samples: ArrayLike<number> = png.data;
  let channels = png.channels;
  let max = 2 ** png.depth - 1;
  let key: number[] | null = null;
  if (png.palette) {
    samples = convertIndexedToRgb(png);
    channels = samples.length / n;
    max = 255;
  } else {
    if (png.depth < 8) samples = unpackBits(png.data, width, height, png.depth);
    if (png.transparency && png.transparency.length === channels) key = [...png.transparency];
  }
  if (samples.length !== n * channels) throw invalid("decoded data has the wrong size");
  if (channels === 3 && max === 255 && !key && samples instanceof Uint8Array) {
    return { width, height, data: samples }; // 8-bit RGB: already the answer
  }
  const out = new Uint8Array(n * 3);
  const scale = 255 / max;
  const grey = channels < 3;
  const hasAlpha = channels === 2 || channels === 4;
  for (let i = 0; i < n; i++) {
    const s = i * channels;
    const r = samples[s] ?? 0;
    const g = grey ? r : samples[s + 1] ?? 0;
    const bl = grey ? r : samples[s + 2] ?? 0;
    let a = hasAlpha ? (samples[s + channels - 1] ?? 0) / max : 1;
    if (key && (grey ? r === key[0] : r === key[0] && g === key[1] && bl === key[2])) a = 0;
    const o = i * 3;
    out[o] = Math.round(r * scale * a + (background[0] ?? 255) * (1 - a));
    out[o + 1] = Math.round(g * scale * a + (background[1] ?? 255) * (1 - a));
    out[o + 2] = Math.round(bl * scale * a + (background[2] ?? 255) * (1 - a));
  }
  return { width, height, data: out };
}

/** Grey samples packed 1, 2 or 4 to a byte (rows padded to a byte) into one per byte. */
function unpackBits(data: ArrayLike<number>, width: number, height: number, depth: number) {
  const out = new Uint8Array(width * height);
  const rowBytes = Math.ceil((width * depth) / 8);
  const mask = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const bit = x * depth;
      const byte = data[y * rowBytes + (bit >> 3)] ?? 0;
      out[y * width + x] = (byte >> (8 - depth - (bit & 7))) & mask;
    }
  }
  return out;
}
