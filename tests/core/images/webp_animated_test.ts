/** Fault class 10: an animated WebP decodes to its first frame (it was refused before). */
import assert from "node:assert/strict";
import webpEncode from "@jsquash/webp/encode.js";
import { decodeImage } from "../../../core/images/decode.ts";

function le(n: number, bytes: number): number[] {
  return Array.from({ length: bytes }, (_, i) => (n >> (8 * i)) & 255);
}

function chunk(id: string, payload: Uint8Array | number[]): number[] {
  const p = [...payload];
  return [...id].map((c) => c.charCodeAt(0)).concat(le(p.length, 4), p, p.length & 1 ? [0] : []);
}

/** Wraps still WebPs (one VP8/VP8L chunk each, plus ALPH when given) as animation frames. */
function animate(w: number, h: number, stills: Uint8Array[]): Uint8Array {
  const frames = stills.flatMap((s) => {
    const inner = [...s.subarray(12)]; // the still's chunks, after RIFF....WEBP
    const head = [...le(0, 3), ...le(0, 3), ...le(w - 1, 3), ...le(h - 1, 3), ...le(100, 3), 0];
    return chunk("ANMF", [...head, ...inner]);
  });
  const vp8x = chunk("VP8X", [0x02 | 0x10, 0, 0, 0, ...le(w - 1, 3), ...le(h - 1, 3)]);
  const anim = chunk("ANIM", [255, 255, 255, 255, 0, 0]);
  const body = [..."WEBP"].map((c) => c.charCodeAt(0)).concat(vp8x, anim, frames);
  return Uint8Array.from([..."RIFF"].map((c) => c.charCodeAt(0)).concat(le(body.length, 4), body));
}

async function still(w: number, h: number, rgb: [number, number, number], lossless: boolean) {
  const data = new Uint8ClampedArray(w * h * 4).map((_, i) => i % 4 === 3 ? 255 : rgb[i % 4]!);
  const opts = lossless ? { lossless: 1, exact: 1 } : { quality: 95 };
  return new Uint8Array(
    await webpEncode({ width: w, height: h, data, colorSpace: "srgb" } as ImageData, opts),
  );
}

Deno.test("decodeImage() takes the first frame of an animated WebP (lossless and lossy)", async () => {
  for (const lossless of [true, false]) {
    const file = animate(12, 8, [
      await still(12, 8, [200, 30, 30], lossless),
      await still(12, 8, [30, 30, 200], lossless),
    ]);
    const img = await decodeImage(file);
    assert.equal(img.format, "webp");
    assert.deepEqual([img.width, img.height], [12, 8]);
    const [r, g, b] = img.data;
    assert.ok(
      Math.abs(r! - 200) < 8 && Math.abs(g! - 30) < 8 && Math.abs(b! - 30) < 8,
      `${r},${g},${b}`,
    );
  }
});

Deno.test("decodeImage() refuses an animation whose frame is larger than its checked canvas", async () => {
  const file = animate(12, 8, [await still(12, 8, [200, 30, 30], true)]);
  // shrink the canvas to 4x4 after the fact: the frame (12x8) no longer fits
  file[24] = 3;
  file[25] = 0;
  file[26] = 0;
  file[27] = 3;
  file[28] = 0;
  file[29] = 0;
  await assert.rejects(decodeImage(file), /does not fit/);
});
