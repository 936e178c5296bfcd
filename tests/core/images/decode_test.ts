import assert from "node:assert/strict";
import { encode as fastPngEncode } from "fast-png";
import { zlibSync } from "fflate";
import jpeg from "jpeg-js";
import webpEncode from "@jsquash/webp/encode.js";
import { decodeImage } from "../../../core/images/decode.ts";
import { encodePng } from "../../../core/images/encode.ts";
import { ImageError, type ImageErrorCode } from "../../../core/images/image_error.ts";
import type { RgbImage } from "../../../core/images/types.ts";

/** A deterministic RGB test pattern. */
function pattern(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    data[i * 3] = (i * 37) % 256;
    data[i * 3 + 1] = (i * 11 + 5) % 256;
    data[i * 3 + 2] = 255 - ((i * 3) % 256);
  }
  return { width, height, data };
}

function rgba(img: RgbImage, alpha = 255): Uint8Array {
  const out = new Uint8Array(img.width * img.height * 4).fill(alpha);
  for (let i = 0; i < img.width * img.height; i++) {
    out.set(img.data.subarray(i * 3, i * 3 + 3), i * 4);
  }
  return out;
}

const CRC = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function chunk(type: string, data: Uint8Array): Uint8Array {
  const body = new Uint8Array([...type].map((c) => c.charCodeAt(0)).concat([...data]));
  let c = 0xffffffff;
  for (const b of body) c = (CRC[(c ^ b) & 255] as number) ^ (c >>> 8);
  const out = new Uint8Array(body.length + 8);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  out.set(body, 4);
  v.setUint32(body.length + 4, (c ^ 0xffffffff) >>> 0);
  return out;
}

/** A handcrafted PNG: IHDR fields, raw (already filtered) scanlines, optional extra chunks. */
function craftPng(
  w: number,
  h: number,
  depth: number,
  colorType: number,
  raw: Uint8Array,
  extra: Uint8Array[] = [],
): Uint8Array {
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, w);
  v.setUint32(4, h);
  ihdr.set([depth, colorType, 0, 0, 0], 8);
  const parts = [
    new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk("IHDR", ihdr),
    ...extra,
    chunk("IDAT", zlibSync(raw)),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
}

async function assertRejectsCode(bytes: Uint8Array, code: ImageErrorCode): Promise<void> {
  await assert.rejects(
    () => decodeImage(bytes),
    (e: unknown) => e instanceof ImageError && e.code === code,
  );
}

function maxDiff(a: Uint8Array, b: Uint8Array): number {
  assert.equal(a.length, b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] as number))), 0);
}

Deno.test("decodeImage() round-trips encodePng exactly", async () => {
  for (const [w, h] of [[1, 1], [7, 5], [64, 33]] as const) {
    const img = pattern(w, h);
    const out = await decodeImage(encodePng(img));
    assert.deepEqual({ ...out }, { format: "png", width: w, height: h, data: img.data });
  }
});

Deno.test("decodeImage() reads interlaced (Adam7) PNG", async () => {
  const img = pattern(13, 9);
  const png = fastPngEncode({ ...img, channels: 3, depth: 8 }, { interlace: "Adam7" });
  assert.deepEqual((await decodeImage(png)).data, img.data);
});

Deno.test("decodeImage() rounds 16-bit PNG samples to 8 bits", async () => {
  const img = pattern(6, 4);
  const wide = Uint16Array.from(img.data, (v) => v * 257);
  wide[0] = 1000; // 1000 / 257 = 3.89 -> 4
  const png = fastPngEncode({ width: 6, height: 4, data: wide, channels: 3, depth: 16 });
  const out = await decodeImage(png);
  assert.equal(out.data[0], 4);
  assert.deepEqual(out.data.subarray(1), img.data.subarray(1));
});

Deno.test("decodeImage() expands palette PNG, with tRNS alpha over the background", async () => {
  const palette = [[255, 0, 0], [0, 255, 0], [0, 0, 255]];
  const data = new Uint8Array([0, 1, 2, 1, 0, 2]);
  const png = fastPngEncode({ width: 3, height: 2, data, channels: 1, depth: 8, palette });
  const out = await decodeImage(png);
  assert.deepEqual([...out.data.subarray(0, 9)], [255, 0, 0, 0, 255, 0, 0, 0, 255]);
  // fast-png writes tRNS only for non-opaque entries, so they come first here
  const trns = fastPngEncode({
    width: 3,
    height: 2,
    data,
    channels: 1,
    depth: 8,
    palette: [[0, 255, 0, 0], [0, 0, 255, 128], [255, 0, 0, 255]],
  });
  const over = await decodeImage(trns, { background: [0, 0, 0] });
  assert.deepEqual([...over.data.subarray(0, 9)], [0, 0, 0, 0, 0, 128, 255, 0, 0]);
  assert.deepEqual([...(await decodeImage(trns)).data.subarray(0, 3)], [255, 255, 255]);
});

Deno.test("decodeImage() composites grey+alpha and RGBA PNG over white by default", async () => {
  const ga = fastPngEncode({
    width: 2,
    height: 1,
    data: new Uint8Array([100, 255, 0, 0]),
    channels: 2,
    depth: 8,
  });
  assert.deepEqual([...(await decodeImage(ga)).data], [100, 100, 100, 255, 255, 255]);
  const px = new Uint8Array([200, 100, 0, 51]); // alpha 0.2
  const png = fastPngEncode({ width: 1, height: 1, data: px, channels: 4, depth: 8 });
  // 0.2 * c + 0.8 * 255
  assert.deepEqual([...(await decodeImage(png)).data], [244, 224, 204]);
  const black = await decodeImage(png, { background: [0, 0, 0] });
  assert.deepEqual([...black.data], [40, 20, 0]);
});

Deno.test("decodeImage() unpacks 1/2/4-bit grey and honours a grey tRNS key", async () => {
  // 2-bit grey, 5 pixels: 0 1 2 3 0 -> 0 85 170 255 0 ; filter byte 0 per row
  const two = craftPng(5, 1, 2, 0, new Uint8Array([0, 0b00011011, 0b00000000]));
  const out = await decodeImage(two);
  assert.deepEqual([...out.data].filter((_, i) => i % 3 === 0), [0, 85, 170, 255, 0]);
  const one = craftPng(3, 2, 1, 0, new Uint8Array([0, 0b10100000, 0, 0b01000000]));
  assert.deepEqual([...(await decodeImage(one)).data].filter((_, i) => i % 3 === 0), [
    255,
    0,
    255,
    0,
    255,
    0,
  ]);
  const four = craftPng(2, 1, 4, 0, new Uint8Array([0, 0xf8]));
  assert.deepEqual([...(await decodeImage(four)).data], [255, 255, 255, 136, 136, 136]);
  // key grey value 8 (at 4 bits) is transparent -> background
  const keyed = craftPng(2, 1, 4, 0, new Uint8Array([0, 0xf8]), [
    chunk("tRNS", new Uint8Array([0, 8])),
  ]);
  const bg = await decodeImage(keyed, { background: [1, 2, 3] });
  assert.deepEqual([...bg.data], [255, 255, 255, 1, 2, 3]);
});

Deno.test("decodeImage() calls a truncated PNG invalid_image at every cut", async () => {
  const png = encodePng(pattern(16, 16));
  for (let n = 8; n < png.length; n += 3) {
    await assertRejectsCode(png.subarray(0, n), "invalid_image");
  }
});

Deno.test("decodeImage() calls corrupt PNG invalid_image (CRC, short or bomb IDAT)", async () => {
  const png = encodePng(pattern(16, 16)).slice();
  png[png.length - 20] = (png[png.length - 20] as number) ^ 0xff; // inside IDAT: CRC mismatch
  await assertRejectsCode(png, "invalid_image");
  // 4x4 RGB needs 4 * 13 bytes; give half, then a 10 MB zero run (deflates to ~10 kB)
  await assertRejectsCode(craftPng(4, 4, 8, 2, new Uint8Array(26)), "invalid_image");
  await assertRejectsCode(craftPng(4, 4, 8, 2, new Uint8Array(10_000_000)), "invalid_image");
  await assertRejectsCode(craftPng(4, 4, 8, 9, new Uint8Array(52)), "invalid_image");
});

Deno.test("decodeImage() decodes a jpeg-js JPEG within tolerance", async () => {
  const w = 48, h = 32;
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) data.set([x * 5, y * 7, 128], (y * w + x) * 3);
  }
  const img = { width: w, height: h, data };
  const jpg = jpeg.encode({ width: w, height: h, data: rgba(img) }, 95).data;
  const out = await decodeImage(jpg);
  assert.equal(out.format, "jpeg");
  assert.deepEqual([out.width, out.height], [w, h]);
  const mean = out.data.reduce((s, v, i) => s + Math.abs(v - (data[i] as number)), 0) / data.length;
  assert.ok(mean < 3, `mean abs error ${mean}`);
  assert.ok(maxDiff(out.data, data) < 24);
});

Deno.test("decodeImage() decodes a 4.3 MP JPEG (jpeg-js memory cap follows the size)", async () => {
  const w = 2400, h = 1800;
  const px = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) px.set([i % 251, (i / w) % 256, 77, 255], i * 4);
  const out = await decodeImage(jpeg.encode({ width: w, height: h, data: px }, 80).data);
  assert.deepEqual([out.width, out.height, out.data.length], [w, h, w * h * 3]);
});

Deno.test("decodeImage() applies the JPEG EXIF orientation (6: rotate 90 clockwise)", async () => {
  const w = 32, h = 16;
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) data.fill(x < 16 ? 0 : 255, (y * w + x) * 3, (y * w + x) * 3 + 3);
  }
  const jpg =
    jpeg.encode({ width: w, height: h, data: rgba({ width: w, height: h, data }) }, 95).data;
  const app1 = [
    ...[0xff, 0xe1, 0, 34],
    ...new TextEncoder().encode("Exif\0\0II"),
    ...[42, 0, 8, 0, 0, 0, 1, 0, 0x12, 1, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0],
  ];
  const rotated = new Uint8Array([0xff, 0xd8, ...app1, ...jpg.subarray(2)]);
  const out = await decodeImage(rotated);
  assert.deepEqual([out.width, out.height], [16, 32]);
  // the left (black) half becomes the top half
  assert.ok((out.data[(4 * 16 + 8) * 3] as number) < 30);
  assert.ok((out.data[(28 * 16 + 8) * 3] as number) > 225);
  const asStored = await decodeImage(rotated, { applyExifOrientation: false });
  assert.deepEqual([asStored.width, asStored.height], [32, 16]);
});

Deno.test("decodeImage() calls cut or garbled JPEG invalid_image, never crashing", async () => {
  const img = pattern(24, 24);
  const jpg = jpeg.encode({ width: 24, height: 24, data: rgba(img) }, 90).data;
  for (let n = 3; n < jpg.length - 2; n += 5) {
    await assertRejectsCode(jpg.subarray(0, n), "invalid_image");
  }
  let seed = 1;
  const next = () => (seed = (seed * 1103515245 + 12345) >>> 0);
  for (let t = 0; t < 200; t++) {
    const bad = jpg.slice();
    for (let k = 0; k < 4; k++) bad[3 + (next() % (bad.length - 3))] = next() >>> 24;
    try {
      const out = await decodeImage(bad);
      assert.equal(out.data.length, out.width * out.height * 3);
    } catch (e) {
      assert.ok(e instanceof ImageError, `not an ImageError: ${e}`);
    }
  }
});

Deno.test("decodeImage() reads lossless WebP exactly and composites its alpha", async () => {
  const img = pattern(9, 6);
  const raw = new Uint8ClampedArray(rgba(img));
  raw[3] = 0; // first pixel transparent
  const webp = await webpEncode(
    { width: 9, height: 6, data: raw, colorSpace: "srgb" } as ImageData,
    { lossless: 1, exact: 1 },
  );
  const out = await decodeImage(new Uint8Array(webp));
  assert.equal(out.format, "webp");
  assert.deepEqual([...out.data.subarray(0, 3)], [255, 255, 255]);
  assert.deepEqual(out.data.subarray(3), img.data.subarray(3));
  const lossy = await webpEncode(
    {
      width: 9,
      height: 6,
      data: new Uint8ClampedArray(rgba(img)),
      colorSpace: "srgb",
    } as ImageData,
    { quality: 90 },
  );
  const l = await decodeImage(new Uint8Array(lossy));
  assert.deepEqual([l.width, l.height], [9, 6]);
  for (let n = 30; n < lossy.byteLength; n += 4) {
    await assertRejectsCode(new Uint8Array(lossy).subarray(0, n), "invalid_image");
  }
});

Deno.test("decodeImage() refuses random bytes as unsupported_format", async () => {
  let seed = 42;
  const bytes = new Uint8Array(1000).map(() => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
  await assertRejectsCode(bytes, "unsupported_format");
  await assertRejectsCode(
    new TextEncoder().encode("BM this is a bitmap, allegedly"),
    "unsupported_format",
  );
});
