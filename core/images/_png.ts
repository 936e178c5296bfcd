/**
 * PNG to RGB via fast-png, behind two guards: the chunk stream is walked first (truncation is
 * caught before the library runs, and only critical chunks plus tRNS are handed on, so no
 * compressed text or ICC profile is ever inflated), and the image data is inflated once in
 * bounded pieces ({@linkcode INFLATE_SLICE} compressed bytes per step, so at most about
 * 1032 x that is produced between checks), stopping as soon as it passes the size IHDR
 * implies: a small file declaring a large image whose IDAT inflates to gigabytes is refused
 * after at most the declared size plus one step.
 *
 * Interlaced (Adam7) images are unfiltered and de-interlaced here from that bounded inflation
 * and handed to fast-png as the equivalent non-interlaced image (stored, uncompressed
 * deflate): fast-png 8.0.0 mis-sizes interlaced rows below 8 bits per pixel
 * (`Unsupported filter: 5` on a 2-bit palette image).
 *
 * @module
 */
import { convertIndexedToRgb, decode as fastPngDecode, type DecodedPng } from "fast-png";
import { Unzlib, zlibSync } from "fflate";
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
  const walked = walkChunks(bytes);
  const { idat, width, height, bitsPerPixel, interlaced } = walked;
  const raw = inflateBounded(idat, rawSize(width, height, bitsPerPixel, interlaced), interlaced);
  const kept = raw === null ? walked.kept : progressive(walked, raw);
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
  const kept = concat(parts);
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

/** Compressed bytes inflated per step (deflate expands at most ~1032:1, so ~4 MiB out). */
export const INFLATE_SLICE = 4096;

/**
 * Inflates the IDAT stream in {@linkcode INFLATE_SLICE} pieces, refusing it the moment it
 * passes `expected` bytes or when it ends short. Returns the bytes when `keep` is set, else
 * only counts them (null).
 */
function inflateBounded(idat: Uint8Array[], expected: number, keep: boolean): Uint8Array | null {
  const out = keep ? new Uint8Array(expected) : null;
  let total = 0;
  const inflator = new Unzlib((chunk) => {
    if (total + chunk.length > expected) {
      throw invalid(`image data inflates past the ${expected} bytes its header implies`);
    }
    out?.set(chunk, total);
    total += chunk.length;
  });
  try {
    for (const part of idat) {
      for (let at = 0; at < part.length; at += INFLATE_SLICE) {
        inflator.push(part.subarray(at, Math.min(at + INFLATE_SLICE, part.length)));
      }
    }
    inflator.push(new Uint8Array(0), true);
  } catch (e) {
    if (e instanceof ImageError) throw e;
    throw invalid(`corrupt image data (${e instanceof Error ? e.message : String(e)})`, e);
  }
  if (total < expected) throw invalid(`truncated image data (${total} of ${expected} bytes)`);
  return out;
}

/**
 * The interlaced image as a non-interlaced PNG (IHDR interlace 0, one stored IDAT of filter-0
 * rows), every other kept chunk as it was; the original chunk CRCs are checked here.
 */
function progressive(w: Walked, raw: Uint8Array): Uint8Array {
  const { width, height, bitsPerPixel: bpp } = w;
  const rowBytes = Math.ceil((width * bpp) / 8);
  const rows = new Uint8Array(height * (1 + rowBytes));
  let at = 0;
  for (const [x0, y0, dx, dy] of ADAM7) {
    const pw = Math.ceil((width - x0) / dx);
    const ph = Math.ceil((height - y0) / dy);
    if (pw <= 0 || ph <= 0) continue;
    const passRow = Math.ceil((pw * bpp) / 8);
    const pass = unfilter(raw.subarray(at, at + ph * (1 + passRow)), ph, passRow, bpp);
    at += ph * (1 + passRow);
    for (let py = 0; py < ph; py++) {
      const dst = (y0 + py * dy) * (1 + rowBytes) + 1;
      for (let px = 0; px < pw; px++) {
        copyPixel(pass, py * passRow, px, rows, dst, x0 + px * dx, bpp);
      }
    }
  }
  const chunks: Uint8Array[] = [w.kept.subarray(0, 8)];
  const v = new DataView(w.kept.buffer, w.kept.byteOffset, w.kept.byteLength);
  for (let pos = 8; pos < w.kept.length;) {
    const len = v.getUint32(pos);
    const type = String.fromCharCode(...w.kept.subarray(pos + 4, pos + 8));
    const whole = w.kept.subarray(pos, pos + 12 + len);
    if (crc32(whole.subarray(4, 8 + len)) !== v.getUint32(pos + 8 + len)) {
      throw invalid(`CRC mismatch in a ${JSON.stringify(type)} chunk`);
    }
    if (type === "IHDR") {
      const data = whole.slice(8, 8 + len);
      data[12] = 0;
      chunks.push(chunk("IHDR", data));
    } else if (type === "IEND") {
      chunks.push(chunk("IDAT", zlibSync(rows, { level: 0 })), whole);
    } else if (type !== "IDAT") chunks.push(whole);
    pos += 12 + len;
  }
  return concat(chunks);
}

/** Undoes the per-row filters of `h` rows of `rowBytes` bytes (each led by its filter byte). */
function unfilter(data: Uint8Array, h: number, rowBytes: number, bpp: number): Uint8Array {
  const out = new Uint8Array(h * rowBytes);
  const step = Math.max(1, bpp >> 3);
  for (let y = 0; y < h; y++) {
    const filter = data[y * (1 + rowBytes)]!;
    const src = y * (1 + rowBytes) + 1;
    const row = y * rowBytes;
    for (let i = 0; i < rowBytes; i++) {
      const x = data[src + i]!;
      const a = i >= step ? out[row + i - step]! : 0;
      const b = y > 0 ? out[row - rowBytes + i]! : 0;
      const c = y > 0 && i >= step ? out[row - rowBytes + i - step]! : 0;
      let p: number;
      if (filter === 0) p = 0;
      else if (filter === 1) p = a;
      else if (filter === 2) p = b;
      else if (filter === 3) p = (a + b) >> 1;
      else if (filter === 4) p = paeth(a, b, c);
      else throw invalid(`unknown row filter ${filter}`);
      out[row + i] = (x + p) & 255;
    }
  }
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Copies pixel `sx` of a packed row at `src` to pixel `dx` of the packed row at `dst`. */
function copyPixel(
  from: Uint8Array,
  src: number,
  sx: number,
  to: Uint8Array,
  dst: number,
  dx: number,
  bpp: number,
): void {
  if (bpp >= 8) {
    const n = bpp >> 3;
    for (let k = 0; k < n; k++) to[dst + dx * n + k] = from[src + sx * n + k]!;
    return;
  }
  const mask = (1 << bpp) - 1;
  const sBit = sx * bpp;
  const v = (from[src + (sBit >> 3)]! >> (8 - bpp - (sBit & 7))) & mask;
  const dBit = dx * bpp;
  to[dst + (dBit >> 3)]! |= v << (8 - bpp - (dBit & 7));
}

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
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
