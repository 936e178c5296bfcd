import assert from "node:assert/strict";
import { fromTensor, toTensor } from "../../../core/images/tensor.ts";

Deno.test("toTensor() lays out CHW in [-1, 1]", () => {
  const img = { width: 2, height: 1, data: new Uint8Array([0, 51, 255, 255, 102, 0]) };
  const t = toTensor(img);
  assert.deepEqual([...t], [-1, 1, 51 / 127.5 - 1, 102 / 127.5 - 1, 1, -1].map(Math.fround));
});

Deno.test("fromTensor() inverts toTensor() exactly for every 8-bit value", () => {
  const data = new Uint8Array(256 * 3).map((_, i) => Math.floor(i / 3));
  const img = { width: 16, height: 16, data };
  assert.deepEqual(fromTensor(toTensor(img), 16, 16), img);
});

Deno.test("fromTensor() clamps, maps NaN to 0 and checks the length", () => {
  const out = fromTensor(new Float32Array([-3, 0, 7, NaN, 0.5, -0.5]), 1, 2);
  assert.deepEqual([...out.data], [0, 255, 191, 128, 0, 64]);
  assert.throws(() => fromTensor(new Float32Array(5), 1, 2), RangeError);
});
