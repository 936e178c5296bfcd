import assert from "node:assert/strict";
import { cropImage, flipHorizontal } from "../../../core/images/crop.ts";
import type { RgbImage } from "../../../core/images/types.ts";

/** Red channel = x, green = y, blue = 7. */
function coords(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set([x, y, 7], (y * width + x) * 3);
  }
  return { width, height, data };
}

Deno.test("cropImage() copies the rectangle and refuses one outside", () => {
  const out = cropImage(coords(5, 4), 1, 2, 3, 2);
  assert.deepEqual([out.width, out.height], [3, 2]);
  assert.deepEqual([...out.data.subarray(0, 3)], [1, 2, 7]);
  assert.deepEqual([...out.data.subarray(15, 18)], [3, 3, 7]);
  assert.throws(() => cropImage(coords(5, 4), 3, 0, 3, 1), RangeError);
  assert.throws(() => cropImage(coords(5, 4), -1, 0, 1, 1), RangeError);
});

Deno.test("flipHorizontal() mirrors each row", () => {
  const out = flipHorizontal(coords(4, 2));
  assert.deepEqual([...out.data.subarray(0, 3)], [3, 0, 7]);
  assert.deepEqual([...out.data.subarray(21, 24)], [0, 1, 7]);
});
