import assert from "node:assert/strict";
import { resizeImage, resizeShorterSide } from "../../../core/images/resize.ts";
import type { RgbImage } from "../../../core/images/types.ts";

function constant(width: number, height: number, rgb: [number, number, number]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(rgb, i * 3);
  return { width, height, data };
}

function grey(width: number, height: number, f: (x: number, y: number) => number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      data.fill(f(x, y), (y * width + x) * 3, (y * width + x) * 3 + 3);
    }
  }
  return { width, height, data };
}

const red = (img: RgbImage) => [...img.data].filter((_, i) => i % 3 === 0);

Deno.test("resizeImage() keeps a constant image constant, down and up, any factor", () => {
  const img = constant(37, 23, [200, 17, 99]);
  for (const [w, h] of [[10, 7], [5, 23], [37, 1], [80, 61], [41, 11], [1, 1]]) {
    const out = resizeImage(img, w as number, h as number);
    assert.deepEqual([out.width, out.height], [w, h]);
    assert.deepEqual(out.data, constant(w as number, h as number, [200, 17, 99]).data);
  }
});

Deno.test("resizeImage() 2x downscale is the exact mean of each 2x2 block", () => {
  // block values chosen so that every mean is an integer
  const img = grey(4, 2, (x, y) => [[0, 4, 100, 200], [8, 12, 50, 6]][y]![x]!);
  assert.deepEqual(red(resizeImage(img, 2, 1)), [6, 89]);
  const big = grey(6, 6, (x, y) => (x * 3 + y * 5) * 4);
  const half = resizeImage(big, 3, 3);
  for (let y = 0; y < 3; y++) {
    for (let x = 0; x < 3; x++) {
      let s = 0;
      for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
        s += (x * 2 + dx!) * 3 + (y * 2 + dy!) * 5;
      }
      assert.equal(half.data[(y * 3 + x) * 3], s); // mean of 4 values each x4
    }
  }
});

Deno.test("resizeImage() area-averages at non-integer factors (3 -> 2)", () => {
  // output 0 covers input [0, 1.5): (a + b/2) / 1.5 ; output 1 covers [1.5, 3): (b/2 + c) / 1.5
  const img = grey(3, 1, (x) => [30, 60, 90][x]!);
  assert.deepEqual(red(resizeImage(img, 2, 1)), [40, 80]);
});

Deno.test("resizeImage() upscales bilinearly with centres aligned and edges clamped", () => {
  // 2 -> 4: source positions -0.25 (clamped 0), 0.25, 0.75, 1.25 (clamped 1)
  const img = grey(2, 1, (x) => [0, 200][x]!);
  assert.deepEqual(red(resizeImage(img, 4, 1)), [0, 50, 150, 200]);
  const col = grey(1, 2, (_x, y) => [100, 20][y]!);
  assert.deepEqual(red(resizeImage(col, 1, 4)), [100, 80, 40, 20]);
});

Deno.test("resizeImage() returns a copy at the same size and refuses bad sizes", () => {
  const img = constant(3, 2, [1, 2, 3]);
  const same = resizeImage(img, 3, 2);
  assert.deepEqual(same.data, img.data);
  assert.notEqual(same.data, img.data);
  assert.throws(() => resizeImage(img, 0, 2), RangeError);
  assert.throws(() => resizeImage(img, 2.5, 2), RangeError);
});

Deno.test("resizeShorterSide() sets the shorter side and keeps the aspect", () => {
  const wide = constant(640, 480, [0, 0, 0]);
  const a = resizeShorterSide(wide, 64);
  assert.deepEqual([a.width, a.height], [85, 64]);
  const tall = constant(30, 100, [0, 0, 0]);
  const b = resizeShorterSide(tall, 64);
  assert.deepEqual([b.width, b.height], [64, 213]);
  const sq = resizeShorterSide(constant(10, 10, [5, 5, 5]), 32);
  assert.deepEqual([sq.width, sq.height], [32, 32]);
});
