/**
 * Rules for Resize. Only nearest-neighbour upsampling by integer factors in which every
 * input element is repeated exactly `s` times along each axis is supported (PyTorch's
 * `nearest`: asymmetric + floor; `nearest-exact`: half_pixel + round_prefer_floor; and
 * any other coordinate/rounding pair that the check below proves exact). Its gradient is
 * sum-pooling: dy [.., H, s, W, s] summed over the s axes. Any other mode, a fractional
 * or downscaling factor, or a non-repeating coordinate mapping is an error naming the
 * node and the attribute, never a silently wrong gradient.
 *
 * @module
 */
import type { NodeView, Vjp } from "../types.ts";
import { AutodiffError } from "../autodiff_error.ts";

type Coord = (o: number, scale: number, inLen: number, outLen: number) => number;

/** Output index → input coordinate, per coordinate_transformation_mode (ONNX spec). */
const COORD: Record<string, Coord> = {
  asymmetric: (o, s) => o / s,
  half_pixel: (o, s) => (o + 0.5) / s - 0.5,
  pytorch_half_pixel: (o, s, _i, out) => (out > 1 ? (o + 0.5) / s - 0.5 : 0),
  tf_half_pixel_for_nn: (o, s) => (o + 0.5) / s,
  align_corners: (o, _s, inLen, out) => (out === 1 ? 0 : (o * (inLen - 1)) / (out - 1)),
};

/** Coordinate → index, per nearest_mode. */
const ROUND: Record<string, (x: number) => number> = {
  floor: Math.floor,
  ceil: Math.ceil,
  round_prefer_floor: (x) => Math.ceil(x - 0.5),
  round_prefer_ceil: (x) => Math.floor(x + 0.5),
};

function unsupported(n: NodeView, what: string): never {
  throw new AutodiffError(
    "unsupported",
    `autodiff: Resize node '${n.node.name}': unsupported ${what} (only nearest upsampling ` +
      `by integer factors that repeats each element is differentiable)`,
  );
}

/** The integer factor of every axis, after checking that nearest mapping repeats exactly. */
function repeatFactors(n: NodeView): number[] {
  const mode = n.attrString("mode", "nearest");
  if (mode !== "nearest") unsupported(n, `mode=${mode}`);
  const ctm = n.attrString("coordinate_transformation_mode", "half_pixel");
  const nearest = n.attrString("nearest_mode", "round_prefer_floor");
  const coord = COORD[ctm], round = ROUND[nearest];
  if (!coord) unsupported(n, `coordinate_transformation_mode=${ctm}`);
  if (!round) unsupported(n, `nearest_mode=${nearest}`);
  const inShape = n.inShape(0), outShape = n.outShape(0);
  const given = n.value(n.node.inputs.length === 2 ? 1 : 2) ?? [];
  const axes = n.attrInts("axes", inShape.map((_, a) => a)).map((a) => n.axis(a, inShape.length));
  const scales = new Map(given.map((v, i) => [axes[i]!, v]));
  return inShape.map((len, a) => {
    const out = outShape[a]!, s = out / len;
    if (!Number.isInteger(s) || s < 1) unsupported(n, `scale ${out}/${len} on axis ${a}`);
    if (scales.has(a) && scales.get(a) !== s) unsupported(n, `scale ${scales.get(a)} on axis ${a}`);
    for (let o = 0; o < out; o++) {
      const src = Math.min(Math.max(round(coord(o, s, len, out)), 0), len - 1);
      if (src !== Math.floor(o / s)) unsupported(n, `${ctm} with ${nearest} at scale ${s}`);
    }
    return s;
  });
}

export const resize: Vjp = (g, n, dy) => {
  const factors = repeatFactors(n);
  const inShape = n.inShape(0);
  // Split each axis of length len*s into [len, s] and sum the s parts.
  const split = inShape.flatMap((len, a) => [len, factors[a]!]);
  const axes = inShape.map((_, a) => 2 * a + 1).filter((_, a) => factors[a]! > 1);
  return [() => g.reshape(g.reduceSum(g.reshape(dy, split), axes, false), inShape)];
};

/** Operator type → rule, for this family. */
export const RESIZE_RULES: Record<string, Vjp> = { Resize: resize };
