/** core/onnx/host_session.ts: the one feed check every ONNX Runtime adapter runs. */
import assert from "node:assert/strict";
import { checkFeeds, type InputSpec } from "../../../core/onnx/host_session.ts";

const inputs = new Map<string, InputSpec>([
  ["ids", { dtype: "int32", shape: ["batch", 4] }],
  ["x", { dtype: "float32", shape: null }],
]);
const ids = { dtype: "int32" as const, dims: [2, 4], data: new Int32Array(8) };
const x = { dtype: "float32" as const, dims: [3], data: new Float32Array(3) };

Deno.test("checkFeeds() accepts symbolic and unknown dims", () => {
  checkFeeds(inputs, { ids, x });
  checkFeeds(inputs, { ids: { ...ids, dims: [5, 4], data: new Int32Array(20) }, x });
});

Deno.test("checkFeeds() names a missing, unknown, mistyped or misshapen input", () => {
  assert.throws(() => checkFeeds(inputs, { ids }), /missing input 'x'/);
  assert.throws(() => checkFeeds(inputs, { ids, x, y: x }), /unknown input 'y'/);
  assert.throws(
    () => checkFeeds(inputs, { ids: { ...x, dims: [2, 4] }, x }),
    /input 'ids' must be int32, got float32/,
  );
  assert.throws(
    () => checkFeeds(inputs, { ids: { ...ids, dims: [2, 5] }, x }),
    /input 'ids' must have shape \[batch,4\], got \[2,5\]/,
  );
});
