/**
 * Animated WebP: the first frame as a still WebP that the decoder (libwebp's still-image
 * API, @jsquash/webp) accepts. An animated file (VP8X with the animation flag) holds its
 * frames in ANMF chunks; the first one's bitstream (ALPH plus VP8, or VP8L) is re-wrapped in
 * its own RIFF container at the frame's size. The frame's offset on the canvas, its blending
 * and every later frame are ignored.
 *
 * @module
 */
import { ImageError } from "./image_error.ts";

const ANIMATION_FLAG = 0x02;
const ALPHA_FLAG = 0x10;

function ascii(b: Uint8Array, at: number): string {
  return String.fromCharCode(...b.subarray(at, at + 4));
}

function invalid(message: string): ImageError {
  return new ImageError("invalid_image", `webp: ${message}`);
}

/** The chunks of a RIFF body from `at` to `end`: [fourcc, payload]. */
function chunks(b: Uint8Array, at: number, end: number): [string, Uint8Array][] {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: [string, Uint8Array][] = [];
  while (at + 8 <= end) {
    const size = v.getUint32(at + 4, true);
    if (at + 8 + size > end) throw invalid(`truncated inside a ${ascii(b, at)} chunk`);
    out.push([ascii(b, at), b.subarray(at + 8, at + 8 + size)]);
    at += 8 + size + (size & 1);
  }
  return out;
}

function chunk(fourcc: string, payload: Uint8Array): Uint8Array {
  const pad = payload.length & 1;
  const out = new Uint8Array(8 + payload.length + pad);
  for (let i = 0; i < 4; i++) out[i] = fourcc.charCodeAt(i);
  new DataView(out.buffer).setUint32(4, payload.length, true);
  out.set(payload, 8);
  return out;
}

function riff(parts: Uint8Array[]): Uint8Array {
  const body = parts.reduce((n, p) => n + p.length, 4);
  const out = new Uint8Array(8 + body);
  out.set([0x52, 0x49, 0x46, 0x46]);
  new DataView(out.buffer).setUint32(4, body, true);
  out.set([0x57, 0x45, 0x42, 0x50], 8);
  let at = 12;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * The first frame of an animated WebP as a still WebP, or the bytes unchanged when the file
 * is not animated.
 *
 * @throws ImageError `invalid_image` when the animation has no frame or a truncated one.
 */
export function firstWebpFrame(b: Uint8Array): Uint8Array {
  if (b.length < 30 || ascii(b, 12) !== "VP8X" || ((b[20] ?? 0) & ANIMATION_FLAG) === 0) return b;
  const riffEnd = Math.min(b.length, 8 + new DataView(b.buffer, b.byteOffset).getUint32(4, true));
  const anmf = chunks(b, 12, riffEnd).find(([id]) => id === "ANMF")?.[1];
  if (anmf === undefined || anmf.length < 16) throw invalid("animation without a frame");
  const u24 = (at: number) => anmf[at]! | (anmf[at + 1]! << 8) | (anmf[at + 2]! << 16);
  const [width, height] = [u24(6) + 1, u24(9) + 1];
  // the canvas (VP8X) passed the size limits; a frame must lie inside it (2x the stored offset)
  const canvas = (at: number) => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + 1;
  if (2 * u24(0) + width > canvas(24) || 2 * u24(3) + height > canvas(27)) {
    throw invalid(
      `first frame ${width}x${height} does not fit the ${canvas(24)}x${canvas(27)} canvas`,
    );
  }
  const frame = chunks(anmf, 16, anmf.length);
  const alph = frame.find(([id]) => id === "ALPH");
  const image = frame.find(([id]) => id === "VP8 " || id === "VP8L");
  if (image === undefined) throw invalid("first frame has no VP8/VP8L bitstream");
  if (alph === undefined || image[0] === "VP8L") return riff([chunk(image[0], image[1])]);
  const vp8x = new Uint8Array(10);
  vp8x[0] = ALPHA_FLAG;
  vp8x.set([(width - 1) & 255, ((width - 1) >> 8) & 255, (width - 1) >> 16], 4);
  vp8x.set([(height - 1) & 255, ((height - 1) >> 8) & 255, (height - 1) >> 16], 7);
  return riff([chunk("VP8X", vp8x), chunk("ALPH", alph[1]), chunk("VP8 ", image[1])]);
}
