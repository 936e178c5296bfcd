import assert from "node:assert/strict";
import { attr } from "../../../../core/onnx/builder.ts";
import { type Attribute, DType } from "../../../../core/onnx/types.ts";
import { checkGradient, type InputSpec } from "../../../helpers/gradcheck.ts";

// ONNX Runtime's CPU provider has no float64 Conv or ConvTranspose kernels, so these run in
// float32. Both operators are linear in X (W fixed) and in W (X fixed): the dot-product test
// <A x, r> = <x, A^T r> checks each adjoint. Its error is measured relative to |<A x, r>|,
// which cancellation among ~100 random-signed float32 products can make far smaller than
// the products themselves: measured worst 9e-6 here; a wrong adjoint gives 1e-2 or more.
const DOT_TOL = 3e-5;
// Float32 central differences (h = 1e-2): the loss is linear in each input, so there is no
// truncation error, only float32 rounding of the two losses (~1e-7 * sum|y*r|) divided by
// 2h: measured worst 7e-5 over these configurations, so 1e-3 leaves margin.
const FD32_TOL = 1e-3;

interface ConvCase {
  name: string;
  x: number[];
  w: number[];
  bias?: number;
  attrs: Attribute[];
}

const CONV_CASES: ConvCase[] = [
  {
    name: "3x3, pad 1",
    x: [2, 3, 5, 6],
    w: [4, 3, 3, 3],
    attrs: [attr.ints("pads", [1, 1, 1, 1])],
  },
  {
    name: "stride 2, odd 7x9 input, pad 1",
    x: [1, 2, 7, 9],
    w: [3, 2, 3, 3],
    attrs: [attr.ints("strides", [2, 2]), attr.ints("pads", [1, 1, 1, 1])],
  },
  {
    name: "stride 2, asymmetric pads",
    x: [2, 2, 8, 6],
    w: [3, 2, 3, 3],
    attrs: [attr.ints("strides", [2, 2]), attr.ints("pads", [0, 0, 1, 1])],
  },
  {
    name: "dilation 2",
    x: [1, 2, 9, 8],
    w: [2, 2, 3, 3],
    attrs: [attr.ints("dilations", [2, 2]), attr.ints("pads", [1, 2, 1, 0])],
  },
  {
    name: "groups 2",
    x: [1, 4, 6, 5],
    w: [6, 2, 3, 3],
    attrs: [attr.int("group", 2), attr.ints("pads", [1, 1, 1, 1])],
  },
  {
    name: "depthwise, stride 2",
    x: [2, 3, 6, 5],
    w: [3, 1, 3, 3],
    attrs: [attr.int("group", 3), attr.ints("pads", [1, 1, 1, 1]), attr.ints("strides", [2, 2])],
  },
  { name: "1x1", x: [2, 4, 5, 5], w: [3, 4, 1, 1], attrs: [] },
  {
    name: "1x1, stride 2",
    x: [1, 3, 6, 5],
    w: [2, 3, 1, 1],
    attrs: [attr.ints("strides", [2, 2])],
  },
  {
    name: "1-D, stride 2, dilation 2",
    x: [2, 3, 11],
    w: [4, 3, 3],
    attrs: [attr.ints("strides", [2]), attr.ints("pads", [1, 0]), attr.ints("dilations", [2])],
  },
  {
    name: "auto_pad SAME_UPPER, stride 2",
    x: [1, 2, 7, 9],
    w: [3, 2, 3, 3],
    attrs: [attr.string("auto_pad", "SAME_UPPER"), attr.ints("strides", [2, 2])],
  },
  {
    name: "auto_pad SAME_LOWER, 4x4 kernel",
    x: [1, 2, 7, 8],
    w: [2, 2, 4, 4],
    attrs: [attr.string("auto_pad", "SAME_LOWER")],
  },
  {
    name: "bias",
    x: [1, 2, 5, 5],
    w: [3, 2, 3, 3],
    bias: 3,
    attrs: [attr.ints("pads", [1, 1, 1, 1])],
  },
];

const CONV_TRANSPOSE_CASES: ConvCase[] = [
  {
    name: "stride 2, output_padding 1",
    x: [2, 3, 4, 5],
    w: [3, 2, 3, 3],
    attrs: [
      attr.ints("strides", [2, 2]),
      attr.ints("pads", [1, 1, 1, 1]),
      attr.ints("output_padding", [1, 1]),
    ],
  },
  {
    name: "groups 2, asymmetric pads, dilation 2",
    x: [1, 4, 5, 4],
    w: [4, 3, 3, 3],
    attrs: [attr.int("group", 2), attr.ints("pads", [0, 1, 2, 0]), attr.ints("dilations", [2, 2])],
  },
  {
    name: "1-D, stride 3, output_padding 2",
    x: [2, 2, 5],
    w: [2, 3, 2],
    attrs: [attr.ints("strides", [3]), attr.ints("output_padding", [2])],
  },
  {
    name: "bias, stride 2",
    x: [1, 2, 3, 3],
    w: [2, 3, 3, 3],
    bias: 3,
    attrs: [attr.ints("strides", [2, 2]), attr.ints("pads", [1, 1, 1, 1])],
  },
];

function inputs(c: ConvCase, wrt: string[]): InputSpec[] {
  const specs: InputSpec[] = [
    { name: "x", shape: c.x, wrt: wrt.includes("x") },
    { name: "w", shape: c.w, wrt: wrt.includes("w") },
  ];
  if (c.bias) specs.push({ name: "b", shape: [c.bias], wrt: wrt.includes("b") });
  return specs;
}

for (
  const [op, cases] of [["Conv", CONV_CASES], ["ConvTranspose", CONV_TRANSPOSE_CASES]] as const
) {
  for (const c of cases) {
    // With a bias the map is affine, not linear: only finite differences apply.
    if (!c.bias) {
      Deno.test(`${op} vjp passes the dot-product test (${c.name})`, async () => {
        for (const wrt of ["x", "w"]) {
          const r = await checkGradient({
            op,
            inputs: inputs(c, [wrt]),
            attrs: c.attrs,
            dtype: DType.FLOAT,
            mode: "dot",
          });
          assert.ok(r.worst <= DOT_TOL, `${wrt}: ${JSON.stringify(r.errors)}`);
        }
      });
    }
    Deno.test(`${op} vjp matches float32 finite differences (${c.name})`, async () => {
      const wrt = c.bias ? ["x", "w", "b"] : ["x", "w"];
      const r = await checkGradient({
        op,
        inputs: inputs(c, wrt),
        attrs: c.attrs,
        dtype: DType.FLOAT,
        mode: "fd",
        seed: 7,
      });
      assert.ok(r.worst <= FD32_TOL, JSON.stringify(r.errors));
    });
  }
}

Deno.test("ConvTranspose vjp rejects output_shape with a clear error", async () => {
  await assert.rejects(
    checkGradient({
      op: "ConvTranspose",
      inputs: [{ name: "x", shape: [1, 1, 3, 3], wrt: true }, { name: "w", shape: [1, 1, 3, 3] }],
      attrs: [attr.ints("strides", [2, 2]), attr.ints("output_shape", [6, 6])],
      dtype: DType.FLOAT,
      mode: "dot",
    }),
    /ConvTranspose node 'op': unsupported output_shape/,
  );
});
