import assert from "node:assert/strict";
import { attr } from "../../../../core/onnx/builder.ts";
import type { Attribute } from "../../../../core/onnx/types.ts";
import { checkGradient, type InputSpec } from "../../../helpers/gradcheck.ts";

// Pure rearrangements: float64 central differences are exact up to rounding (~1e-10).
const FD_TOL = 1e-6;

async function fd(op: string, inputs: InputSpec[], attrs: Attribute[] = []) {
  const r = await checkGradient({ op, inputs, attrs });
  assert.ok(r.worst <= FD_TOL, JSON.stringify(r.errors));
}

const x = (shape: number[]): InputSpec => ({ name: "x", shape, wrt: true });
const ints = (name: string, values: number[]): InputSpec => ({
  name,
  shape: [values.length],
  values,
});

Deno.test("Reshape vjp matches finite differences (shape with 0 and -1)", async () => {
  await fd("Reshape", [x([2, 3, 4]), ints("s", [0, -1])]);
  await fd("Reshape", [x([2, 3, 4]), ints("s", [4, 0, -1])]);
});

Deno.test("Flatten vjp matches finite differences (axis 2)", async () => {
  await fd("Flatten", [x([2, 3, 4, 2])], [attr.int("axis", 2)]);
});

Deno.test("Transpose vjp matches finite differences (perm [2,0,1] and [1,3,0,2])", async () => {
  await fd("Transpose", [x([2, 3, 4])], [attr.ints("perm", [2, 0, 1])]);
  await fd("Transpose", [x([2, 3, 4, 5])], [attr.ints("perm", [1, 3, 0, 2])]);
});

Deno.test("Transpose vjp matches finite differences (default perm reverses axes)", async () => {
  await fd("Transpose", [x([2, 3, 4])]);
});

Deno.test("Squeeze vjp matches finite differences (negative axes, and no axes)", async () => {
  await fd("Squeeze", [x([1, 3, 1, 4]), ints("a", [0, -2])]);
  await fd("Squeeze", [x([2, 1, 3, 1])]);
});

Deno.test("Unsqueeze vjp matches finite differences (negative axes)", async () => {
  await fd("Unsqueeze", [x([2, 3]), ints("a", [-1, 0])]);
});
