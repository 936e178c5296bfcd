import assert from "node:assert/strict";
import { decode as fastPngDecode } from "fast-png";
import { encodePng } from "../../../core/images/encode.ts";

Deno.test("encodePng() writes an 8-bit RGB PNG", () => {
  const data = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  const png = encodePng({ width: 2, height: 2, data });
  assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
  const back = fastPngDecode(png);
  assert.deepEqual([back.width, back.height, back.depth, back.channels], [2, 2, 8, 3]);
  assert.deepEqual([...back.data], [...data]);
});

Deno.test("encodePng() refuses malformed images", () => {
  assert.throws(() => encodePng({ width: 2, height: 2, data: new Uint8Array(11) }), RangeError);
  assert.throws(() => encodePng({ width: 0, height: 2, data: new Uint8Array(0) }), RangeError);
});
