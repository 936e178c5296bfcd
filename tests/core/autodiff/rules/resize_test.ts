import assert from "node:assert/strict";
import { attr } from "../../../../core/onnx/builder.ts";
import { type Attribute, DType } from "../../../../core/onnx/types.ts";
import { checkGradient, type InputSpec } from "../../../helpers/gradcheck.ts";

// ONNX Runtime's CPU provider has no float64 Resize kernel; nearest upsampling is linear in
// X, so the dot-product test in float32 checks the sum-pooling adjoint (~1e-7 relative).
const DOT_TOL = 1e-5;

const nearest = (ctm: string, mode: string): Attribute[] => [
  attr.string("mode", "nearest"),
  attr.string("coordinate_transformation_mode", ctm),
  attr.string("nearest_mode", mode),
];

function withScales(shape: number[], scales: number[]): InputSpec[] {
  return [
    { name: "x", shape, wrt: true },
    { name: "roi", shape: [0], omitted: true },
    { name: "scales", shape: [scales.length], values: scales, dtype: DType.FLOAT },
  ];
}

function withSizes(shape: number[], sizes: number[]): InputSpec[] {
  return [
    { name: "x", shape, wrt: true },
    { name: "roi", shape: [0], omitted: true },
    { name: "scales", shape: [0], omitted: true },
    { name: "sizes", shape: [sizes.length], values: sizes },
  ];
}

async function dot(inputs: InputSpec[], attrs: Attribute[]): Promise<number> {
  const r = await checkGradient({ op: "Resize", inputs, attrs, dtype: DType.FLOAT, mode: "dot" });
  return r.worst;
}

Deno.test("Resize vjp passes the dot-product test (nearest x2 by scales, asymmetric floor)", async () => {
  const worst = await dot(withScales([1, 2, 3, 4], [1, 1, 2, 2]), nearest("asymmetric", "floor"));
  assert.ok(worst <= DOT_TOL, `${worst}`);
});

Deno.test("Resize vjp passes the dot-product test (nearest x2 by sizes, half_pixel round)", async () => {
  const attrs = nearest("half_pixel", "round_prefer_floor");
  assert.ok((await dot(withSizes([1, 2, 3, 4], [1, 2, 6, 8]), attrs)) <= DOT_TOL);
});

Deno.test("Resize vjp passes the dot-product test (nearest x3 and x1, PyTorch defaults)", async () => {
  // PyTorch exports F.interpolate(mode="nearest") as asymmetric + floor.
  const worst = await dot(withScales([2, 3, 4, 2], [1, 1, 3, 1]), nearest("asymmetric", "floor"));
  assert.ok(worst <= DOT_TOL, `${worst}`);
});

Deno.test("Resize vjp uses the ONNX defaults (half_pixel, round_prefer_floor)", async () => {
  const inputs = withScales([1, 1, 3, 2], [1, 1, 4, 2]);
  assert.ok((await dot(inputs, [attr.string("mode", "nearest")])) <= DOT_TOL);
});

Deno.test("Resize vjp accepts other pairs only where they repeat exactly", async () => {
  // asymmetric + round_prefer_floor repeats exactly at x2 (o/2 rounds down at .5) but
  // not at x3 (2/3 rounds up); tf_half_pixel_for_nn + floor repeats at any integer factor.
  const x2 = withScales([1, 1, 3, 4], [1, 1, 2, 2]);
  assert.ok((await dot(x2, nearest("asymmetric", "round_prefer_floor"))) <= DOT_TOL);
  const x3 = withScales([1, 1, 3, 4], [1, 1, 3, 3]);
  assert.ok((await dot(x3, nearest("tf_half_pixel_for_nn", "floor"))) <= DOT_TOL);
  await assert.rejects(
    checkGradient({
      op: "Resize",
      inputs: x3,
      attrs: nearest("asymmetric", "round_prefer_floor"),
      dtype: DType.FLOAT,
      mode: "dot",
    }),
    /'op': unsupported asymmetric with round_prefer_floor at scale 3/,
  );
});

Deno.test("Resize vjp rejects what is not exact repetition, naming node and attribute", async () => {
  const reject = (inputs: InputSpec[], attrs: Attribute[], msg: RegExp) =>
    assert.rejects(
      checkGradient({ op: "Resize", inputs, attrs, dtype: DType.FLOAT, mode: "dot" }),
      msg,
    );
  const x2 = withScales([1, 1, 3, 4], [1, 1, 2, 2]);
  await reject(x2, [attr.string("mode", "linear")], /Resize node 'op': unsupported mode=linear/);
  // half_pixel + floor maps output 2 of an x2 upsample to input 0, not 1.
  await reject(x2, nearest("half_pixel", "floor"), /'op': unsupported half_pixel with floor/);
  await reject(x2, nearest("align_corners", "floor"), /'op': unsupported align_corners/);
  const frac = withScales([1, 1, 4, 4], [1, 1, 1.5, 1.5]);
  await reject(frac, nearest("asymmetric", "floor"), /'op': unsupported scale 6\/4 on axis 2/);
  const down = withScales([1, 1, 4, 4], [1, 1, 0.5, 0.5]);
  await reject(down, nearest("asymmetric", "floor"), /'op': unsupported scale 2\/4 on axis 2/);
});
