import assert from "node:assert/strict";
import { prepareImage, preprocessImage } from "../../../core/images/preprocess.ts";
import type { RgbImage } from "../../../core/images/types.ts";

/** Red channel = x, green = y, blue = 7. */
function coords(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set([x, y, 7], (y * width + x) * 3);
  }
  return { width, height, data };
}

Deno.test("prepareImage() center-crops a square at the model size", () => {
  const out = prepareImage(coords(40, 20), 20); // no resize needed, crop x offset 10
  assert.deepEqual([out.width, out.height], [20, 20]);
  assert.deepEqual([...out.data.subarray(0, 3)], [10, 0, 7]);
  const tall = prepareImage(coords(8, 13), 8); // y offset floor(5 / 2) = 2
  assert.deepEqual([...tall.data.subarray(0, 3)], [0, 2, 7]);
});

Deno.test("prepareImage() random crop asks for x then y offsets, flip mirrors", () => {
  const asked: number[] = [];
  const out = prepareImage(coords(50, 20), 20, {
    randomOffset: (max) => (asked.push(max), max),
    flip: true,
  });
  assert.deepEqual(asked, [30, 0]);
  assert.deepEqual([...out.data.subarray(0, 3)], [49, 0, 7]); // right edge, mirrored to the left
  assert.throws(() => prepareImage(coords(50, 20), 20, { randomOffset: () => 31 }), RangeError);
  assert.throws(() => prepareImage(coords(50, 20), 20, { randomOffset: () => 0.5 }), RangeError);
});

Deno.test("preprocessImage() gives [3, size, size] floats in [-1, 1]", () => {
  let seed = 3;
  const data = new Uint8Array(123 * 77 * 3).map(() => (seed = (seed * 69069 + 1) >>> 0) >>> 24);
  data[0] = 0;
  data[1] = 255;
  for (const size of [16, 64, 200]) {
    const t = preprocessImage({ width: 123, height: 77, data }, size, {
      randomOffset: (max) => Math.floor(max / 3),
    });
    assert.equal(t.length, 3 * size * size);
    assert.ok(t.every((v) => v >= -1 && v <= 1));
  }
  const white = preprocessImage({ width: 9, height: 5, data: new Uint8Array(135).fill(255) }, 4);
  assert.ok(white.every((v) => v === 1));
});
