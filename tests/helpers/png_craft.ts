/**
 * Hand-made PNG files for decoder fault tests: any IHDR, any IDAT stream, chunk CRCs right.
 * {@linkcode pngBomb} declares a size inside the limits while its one IDAT inflates far past
 * it; {@linkcode interlacedPalettePng} is an Adam7 palette image at 1, 2 or 4 bits.
 */
import { Zlib, zlibSync } from "fflate";

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

/** One chunk: length, type, data, CRC. */
export function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** IHDR data. */
export function ihdr(w: number, h: number, depth: number, colour: number, interlace = 0) {
  const d = new Uint8Array(13);
  const v = new DataView(d.buffer);
  v.setUint32(0, w);
  v.setUint32(4, h);
  d.set([depth, colour, 0, 0, interlace], 8);
  return d;
}

/** Signature plus chunks. */
export function png(chunks: Uint8Array[]): Uint8Array {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  const out = new Uint8Array(8 + chunks.reduce((n, c) => n + c.length, 0));
  out.set(sig);
  let at = 8;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * A PNG declaring `side` x `side` RGB whose single IDAT inflates to `inflatedMiB` MiB of zeros
 * (about 1 KiB of compressed data per MiB).
 */
export function pngBomb(side: number, inflatedMiB: number): Uint8Array {
  const parts: Uint8Array[] = [];
  const z = new Zlib({ level: 9 }, (d) => void parts.push(d));
  const mib = new Uint8Array(1 << 20);
  for (let i = 0; i < inflatedMiB; i++) z.push(mib, i === inflatedMiB - 1);
  const idat = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    idat.set(p, at);
    at += p.length;
  }
  return png([
    chunk("IHDR", ihdr(side, side, 8, 2)),
    chunk("IDAT", idat),
    chunk("IEND", new Uint8Array(0)),
  ]);
}

const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

/**
 * An Adam7-interlaced palette PNG at `depth` bits whose pixel (x, y) has index
 * `index(x, y)`; rows use filter 0 (None) except every third, which uses Sub, so the decoder's
 * unfiltering is exercised too.
 */
export function interlacedPalettePng(
  width: number,
  height: number,
  depth: 1 | 2 | 4,
  palette: [number, number, number][],
  index: (x: number, y: number) => number,
): Uint8Array {
  const rows: number[] = [];
  for (const [x0, y0, dx, dy] of ADAM7) {
    const pw = Math.ceil((width - x0) / dx);
    const ph = Math.ceil((height - y0) / dy);
    if (pw <= 0 || ph <= 0) continue;
    const rowBytes = Math.ceil((pw * depth) / 8);
    for (let py = 0; py < ph; py++) {
      const row = new Uint8Array(rowBytes);
      for (let px = 0; px < pw; px++) {
        const bit = px * depth;
        const v = index(x0 + px * dx, y0 + py * dy) & ((1 << depth) - 1);
        row[bit >> 3]! |= v << (8 - depth - (bit & 7));
      }
      const sub = py % 3 === 2;
      rows.push(sub ? 1 : 0);
      // Sub with bpp < 8 uses the byte before (bytes-per-pixel rounds up to 1)
      for (let i = 0; i < rowBytes; i++) {
        rows.push(sub ? (row[i]! - (row[i - 1] ?? 0)) & 255 : row[i]!);
      }
    }
  }
  return png([
    chunk("IHDR", ihdr(width, height, depth, 3, 1)),
    chunk("PLTE", Uint8Array.from(palette.flat())),
    chunk("IDAT", zlibSync(Uint8Array.from(rows))),
    chunk("IEND", new Uint8Array(0)),
  ]);
}
