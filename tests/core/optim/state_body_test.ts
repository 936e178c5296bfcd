import assert from "node:assert/strict";
import {
  adamStateBody,
  float32FromBody,
  float64FromBody,
  floatsBody,
  parseAdamStateBody,
} from "../../../core/optim/mod.ts";

Deno.test("floatsBody() round-trips float32 and float64 vectors bit for bit", () => {
  const f32 = new Float32Array([1 / 3, -0, 3e-38, Infinity]);
  const f64 = new Float64Array([1 / 3, 1e-300, -Math.PI]);
  assert.deepEqual(float32FromBody(floatsBody(f32)), f32);
  assert.deepEqual(float64FromBody(floatsBody(f64)), f64);
  // A view into a larger buffer encodes only its own bytes.
  assert.deepEqual(float64FromBody(floatsBody(f64.subarray(1))), f64.subarray(1));
});

Deno.test("adamStateBody() round-trips through JSON", () => {
  const s = { step: 9, m: new Float64Array([0.25, -1]), v: new Float64Array([4, 1e-12]) };
  assert.deepEqual(parseAdamStateBody(JSON.parse(JSON.stringify(adamStateBody(s)))), s);
});
