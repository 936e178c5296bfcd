import assert from "node:assert/strict";
import jpeg from "jpeg-js";
import { decodeImage } from "../../../core/images/decode.ts";
import { encodePng } from "../../../core/images/encode.ts";
import { ImageError, type ImageErrorCode } from "../../../core/images/image_error.ts";
import { probeImage, sniffFormat } from "../../../core/images/probe.ts";

function be32(n: number): number[] {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
}

/** PNG signature + IHDR only: a header that claims a size and carries no pixels. */
function pngHeader(width: number, height: number): Uint8Array {
  const ihdr = [...be32(13), 73, 72, 68, 82, ...be32(width), ...be32(height), 8, 2, 0, 0, 0];
  return new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, ...ihdr, 0, 0, 0, 0]);
}

/** SOI + SOF0 (3 components), nothing after. */
function jpegHeader(width: number, height: number): Uint8Array {
  const sof = [0xff, 0xc0, 0, 17, 8, height >> 8, height & 255, width >> 8, width & 255, 3];
  return new Uint8Array([0xff, 0xd8, ...sof, 1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1]);
}

/** RIFF/WEBP with a VP8X chunk claiming the size, nothing after. */
function webpHeader(width: number, height: number): Uint8Array {
  const u24 = (n: number) => [n & 255, (n >> 8) & 255, (n >> 16) & 255];
  const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));
  return new Uint8Array([
    ...ascii("RIFF"),
    22,
    0,
    0,
    0,
    ...ascii("WEBPVP8X"),
    10,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    ...u24(width - 1),
    ...u24(height - 1),
  ]);
}

function assertImageError(fn: () => unknown, code: ImageErrorCode): void {
  assert.throws(fn, (e: unknown) => e instanceof ImageError && e.code === code);
}

Deno.test("sniffFormat() uses magic bytes only", () => {
  assert.equal(sniffFormat(pngHeader(1, 1)), "png");
  assert.equal(sniffFormat(jpegHeader(1, 1)), "jpeg");
  assert.equal(sniffFormat(webpHeader(1, 1)), "webp");
  assert.equal(sniffFormat(new TextEncoder().encode("GIF89a......")), null);
  assert.equal(sniffFormat(new Uint8Array(0)), null);
});

Deno.test("probeImage() reads PNG, JPEG and WebP sizes from headers", () => {
  assert.deepEqual(probeImage(pngHeader(300, 200)), {
    format: "png",
    width: 300,
    height: 200,
    orientation: 1,
  });
  assert.deepEqual(probeImage(jpegHeader(640, 480)), {
    format: "jpeg",
    width: 640,
    height: 480,
    orientation: 1,
  });
  assert.deepEqual(probeImage(webpHeader(1000, 700)), {
    format: "webp",
    width: 1000,
    height: 700,
    orientation: 1,
  });
  const real = encodePng({ width: 5, height: 7, data: new Uint8Array(105) });
  assert.equal(probeImage(real).height, 7);
  const rgba = new Uint8Array(9 * 4 * 4);
  const jpg = jpeg.encode({ width: 9, height: 4, data: rgba }, 80).data;
  assert.deepEqual([probeImage(jpg).width, probeImage(jpg).height], [9, 4]);
});

Deno.test("probeImage() refuses a 50000x50000 header bomb without pixel data", () => {
  // each input is only the header: a decoder would fail as truncated, the probe says too large
  for (
    const bomb of [pngHeader(50000, 50000), jpegHeader(50000, 50000), webpHeader(16384, 16384)]
  ) {
    assertImageError(() => probeImage(bomb), "image_too_large");
  }
});

Deno.test("decodeImage() refuses header bombs before decoding", async () => {
  for (const bomb of [pngHeader(50000, 50000), jpegHeader(50000, 50000), webpHeader(10000, 9000)]) {
    await assert.rejects(
      () => decodeImage(bomb),
      (e: unknown) => e instanceof ImageError && e.code === "image_too_large",
    );
  }
});

Deno.test("probeImage() applies custom limits: pixels, width, height", () => {
  assertImageError(() => probeImage(pngHeader(100, 100), { maxPixels: 9999 }), "image_too_large");
  assertImageError(() => probeImage(pngHeader(101, 1), { maxWidth: 100 }), "image_too_large");
  assertImageError(() => probeImage(jpegHeader(1, 101), { maxHeight: 100 }), "image_too_large");
  assert.equal(probeImage(pngHeader(100, 100), { maxPixels: 10000 }).width, 100);
  // one side past the default 16384 even though the pixel count is small
  assertImageError(() => probeImage(pngHeader(20000, 1)), "image_too_large");
});

Deno.test("probeImage() calls empty or cut headers invalid_image", () => {
  assertImageError(() => probeImage(pngHeader(0, 10)), "invalid_image");
  assertImageError(() => probeImage(pngHeader(10, 10).subarray(0, 20)), "invalid_image");
  assertImageError(() => probeImage(jpegHeader(10, 10).subarray(0, 8)), "invalid_image");
  assertImageError(() => probeImage(new Uint8Array([0xff, 0xd8, 0xff, 0xd9])), "invalid_image");
  assertImageError(() => probeImage(webpHeader(10, 10).subarray(0, 20)), "invalid_image");
});

Deno.test("probeImage() calls non-images unsupported_format, naming known formats", () => {
  let seed = 7;
  const random = new Uint8Array(4096).map(() => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
  assertImageError(() => probeImage(random), "unsupported_format");
  assertImageError(() => probeImage(new Uint8Array(0)), "unsupported_format");
  assertImageError(
    () => probeImage(new TextEncoder().encode("hello, world")),
    "unsupported_format",
  );
  const gif = new TextEncoder().encode("GIF89a\x01\x00\x01\x00\x00\x00\x00");
  assert.throws(() => probeImage(gif), /GIF images are not supported/);
});

Deno.test("probeImage() reads the EXIF orientation before SOF, ignores broken EXIF", () => {
  const exif = (orientation: number) => [
    ...[0xff, 0xe1, 0, 34],
    ...new TextEncoder().encode("Exif\0\0MM"),
    ...[0, 42, 0, 0, 0, 8, 0, 1, 1, 0x12, 0, 3, 0, 0, 0, 1, 0, orientation, 0, 0, 0, 0, 0, 0],
  ];
  const head = jpegHeader(8, 4);
  const withExif = (app1: number[]) => new Uint8Array([0xff, 0xd8, ...app1, ...head.subarray(2)]);
  assert.equal(probeImage(withExif(exif(6))).orientation, 6);
  assert.equal(probeImage(withExif(exif(9))).orientation, 1);
  const broken = exif(6);
  broken[14] = 0x7f; // IFD offset far past the segment
  assert.equal(probeImage(withExif(broken)).orientation, 1);
});
