import assert from "node:assert/strict";
import { makeGrid } from "../../../core/images/grid.ts";
import type { RgbImage } from "../../../core/images/types.ts";

const tile = (v: number): RgbImage => ({ width: 3, height: 2, data: new Uint8Array(18).fill(v) });
const at = (img: RgbImage, x: number, y: number) => [
  ...img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3),
];

Deno.test("makeGrid() sizes the grid from tiles and padding", () => {
  const g = makeGrid([[tile(1), tile(2), tile(3)], [tile(4), tile(5), tile(6)]], { pad: 2 });
  assert.deepEqual([g.width, g.height], [3 * 3 + 4 * 2, 2 * 2 + 3 * 2]);
  assert.equal(g.data.length, g.width * g.height * 3);
  const none = makeGrid([[tile(9)]], { pad: 0 });
  assert.deepEqual([none.width, none.height, none.data], [3, 2, tile(9).data]);
});

Deno.test("makeGrid() places tiles row by row on the background", () => {
  const g = makeGrid([[tile(10), tile(20)], [tile(30)]], { pad: 1, background: [7, 8, 9] });
  assert.deepEqual([g.width, g.height], [9, 7]);
  assert.deepEqual(at(g, 0, 0), [7, 8, 9]);
  assert.deepEqual(at(g, 1, 1), [10, 10, 10]);
  assert.deepEqual(at(g, 5, 2), [20, 20, 20]);
  assert.deepEqual(at(g, 3, 4), [30, 30, 30]);
  assert.deepEqual(at(g, 5, 4), [7, 8, 9]); // short row: empty cell
  assert.deepEqual(at(makeGrid([[tile(0)]]), 0, 0), [255, 255, 255]); // default pad 2, white
});

Deno.test("makeGrid() refuses no tiles, mixed sizes and a bad pad", () => {
  assert.throws(() => makeGrid([]), RangeError);
  assert.throws(() => makeGrid([[]]), RangeError);
  const odd = { width: 2, height: 2, data: new Uint8Array(12) };
  assert.throws(() => makeGrid([[tile(0)], [odd]]), /expected 3x2/);
  assert.throws(() => makeGrid([[tile(0)]], { pad: -1 }), RangeError);
});
