/**
 * Rules for Conv and ConvTranspose (1-D, 2-D and up; strides, pads, dilations, groups,
 * bias). Both operators are linear in their input and in their weight, so each gradient
 * is another convolution:
 *
 * - Conv: dX = ConvTranspose(dY, W) with output_padding computed so that it has the input's
 *   size; dW = a Conv in which batch and channels swap roles (see {@link weightGrad}).
 * - ConvTranspose: dX = Conv(dY, W); dW = the same helper with input and output swapped.
 * - dB = ReduceSum of dY over the batch and spatial axes.
 *
 * @module
 */
import type { Builder, ConvOptions } from "../../onnx/mod.ts";
import type { NodeView, Vjp } from "../types.ts";
import { AutodiffError } from "../autodiff_error.ts";

/** The geometry of a convolution node, pads made explicit. */
interface Geometry {
  kernel: number[];
  strides: number[];
  pads: number[];
  dilations: number[];
  group: number;
}

/** Reads a node's geometry; `inSpatial` is the spatial size of the data input. */
function geometry(n: NodeView, inSpatial: number[]): Geometry {
  const kernel = n.inShape(1).slice(2);
  const r = kernel.length;
  const strides = n.attrInts("strides", kernel.map(() => 1));
  const dilations = n.attrInts("dilations", kernel.map(() => 1));
  const group = n.attrInt("group", 1);
  const autoPad = n.attrString("auto_pad", "NOTSET");
  let pads = n.attrInts("pads", new Array<number>(2 * r).fill(0));
  if (n.node.opType === "ConvTranspose") {
    if (autoPad !== "NOTSET" && autoPad !== "VALID") unsupported(n, `auto_pad=${autoPad}`);
    if (n.attrInts("output_shape", []).length > 0) unsupported(n, "output_shape");
    if (autoPad === "VALID") pads = pads.map(() => 0);
  } else if (autoPad !== "NOTSET") {
    pads = autoPads(autoPad, inSpatial, kernel, strides, dilations);
  }
  return { kernel, strides, pads, dilations, group };
}

/** Explicit Conv pads for auto_pad SAME_UPPER, SAME_LOWER or VALID. */
function autoPads(mode: string, size: number[], k: number[], s: number[], d: number[]): number[] {
  if (mode === "VALID") return [...size.map(() => 0), ...size.map(() => 0)];
  const total = size.map((h, i) =>
    Math.max(0, (Math.ceil(h / s[i]!) - 1) * s[i]! + (k[i]! - 1) * d[i]! + 1 - h)
  );
  const small = total.map((t) => Math.floor(t / 2));
  const big = total.map((t, i) => t - small[i]!);
  return mode === "SAME_LOWER" ? [...big, ...small] : [...small, ...big];
}

function unsupported(n: NodeView, what: string): never {
  throw new AutodiffError(
    "unsupported",
    `autodiff: ${n.node.opType} node '${n.node.name}': unsupported ${what}`,
    {
      op: n.node.opType,
      node: n.node.name,
    },
  );
}

function options(geo: Geometry, outputPadding?: number[]): ConvOptions {
  const { strides, pads, dilations, group } = geo;
  return outputPadding
    ? { strides, pads, dilations, group, outputPadding }
    : { strides, pads, dilations, group };
}

/** Slices the trailing axes of `x` (from axis 2 on) down to `spatial`, when larger. */
function cropSpatial(g: Builder, x: string, spatial: number[]): string {
  const cur = g.shape(x).slice(2);
  if (cur.every((d, i) => d === spatial[i])) return x;
  return g.slice(x, spatial.map(() => 0), spatial, spatial.map((_, i) => i + 2));
}

/**
 * The gradient of a convolution's weight, [G*cog, cig, k...], from its input `x`
 * [N, G*cig, H...] and output gradient `dy` [N, G*cog, Ho...]: a grouped Conv over
 * `x` as [cig, G*N, H...] with `dy` as the kernel [G*cog, N, Ho...], strides and
 * dilations exchanged, then cut to the kernel size and transposed.
 */
function weightGrad(g: Builder, x: string, dy: string, geo: Geometry): string {
  const [batch, channels, ...spatial] = g.shape(x);
  const G = geo.group, cig = channels! / G;
  const rest = spatial.map((_, i) => i + 3);
  const xt = g.reshape(
    g.transpose(g.reshape(x, [batch!, G, cig, ...spatial]), [2, 1, 0, ...rest]),
    [cig, G * batch!, ...spatial],
  );
  const dyt = g.transpose(dy, [1, 0, ...rest.map((a) => a - 1)]);
  const { strides, dilations, pads } = geo;
  const w = g.conv(xt, dyt, undefined, { strides: dilations, dilations: strides, pads, group: G });
  const perm = [1, 0, ...spatial.map((_, i) => i + 2)];
  return g.transpose(cropSpatial(g, w, geo.kernel), perm);
}

/**
 * The weight gradient of an ungrouped convolution as ONE Gemm over an im2col that ONE
 * grouped Conv builds. The batch moves next to the spatial axes, x as [1, ci, N, H...], so
 * that a convolution of one more spatial axis (kernel, stride and dilation 1 and no padding
 * along N; the node's own along the others) with a one-hot kernel per kernel offset,
 * [ci*K, 1, 1, k...] in groups of ci, gives the windows [ci*K, N*Ho*...] already in the
 * layout of W; then dW [co, ci*K] = dY as [co, N*Ho*...] times windows^T, reshaped to
 * [co, ci, k...]. The one-hot products are exact (x·1 plus zeros). For a 1×1 kernel without
 * stride or pads the windows are x itself. This replaced per-offset Slices and a Concat
 * (about 30 nodes per convolution). ONNX Runtime's Conv is slow when the "kernel" is as
 * large as an activation map, as in {@link weightGrad}.
 */
function weightGradMatmul(g: Builder, x: string, dy: string, geo: Geometry): string {
  const { kernel: k, strides: s, pads: p, dilations: d } = geo, r = k.length;
  const [batch, ci, ...size] = g.shape(x) as [number, number, ...number[]];
  const [, co, ...outSize] = g.shape(dy) as [number, number, ...number[]];
  const K = k.reduce((a, b) => a * b, 1);
  const rows = outSize.reduce((a, b) => a * b, batch);
  const channelsFirst = (v: string) => {
    const rest = g.shape(v).slice(2).map((_, i) => i + 2);
    return batch === 1 ? v : g.transpose(v, [1, 0, ...rest]);
  };
  const plain = K === 1 && s.every((v) => v === 1) && p.every((v) => v === 0);
  let windows = x;
  if (plain) windows = channelsFirst(x);
  else {
    const eye = new Array<number>(K * K).fill(0);
    for (let o = 0; o < K; o++) eye[o * K + o] = 1;
    const kernel = g.constant(g.dtype(x), [K, 1, 1, ...k], eye);
    const images = g.reshape(channelsFirst(x), [ci, 1, batch, ...size]);
    windows = g.conv(images, kernel, undefined, {
      strides: [1, ...s],
      pads: [0, ...p.slice(0, r), 0, ...p.slice(r)],
      dilations: [1, ...d],
    });
  }
  const cols = g.reshape(windows, [ci * K, rows]);
  const dyRows = g.reshape(channelsFirst(dy), [co, rows]);
  return g.reshape(g.gemm(dyRows, cols, undefined, { transB: true }), [co, ci, ...k]);
}

/** Sum of `dy` over every axis but the channels: the bias gradient. */
function biasGrad(g: Builder, dy: string): string {
  const axes = g.shape(dy).map((_, i) => i).filter((i) => i !== 1);
  return g.reduceSum(dy, axes, false);
}

/**
 * dX of a stride-1 Conv as a Conv of dY with the kernel flipped and its channel axes
 * swapped (full correlation): the same maths as ConvTranspose, but ONNX Runtime's Conv
 * kernels are several times faster, and for a constant W the flip folds at load time.
 */
function inputGradStride1(g: Builder, dy: string, w: string, geo: Geometry): string | null {
  const { kernel: k, pads: p, dilations: d, group: G } = geo, r = k.length;
  const pads = [
    ...k.map((kk, i) => d[i]! * (kk - 1) - p[i]!),
    ...k.map((kk, i) => d[i]! * (kk - 1) - p[i + r]!),
  ];
  if (pads.some((x) => x < 0)) return null;
  const [co, cig, ...ks] = g.shape(w);
  const cog = co! / G;
  const spatial = ks.map((_, i) => i + 3);
  const swapped = g.reshape(
    g.transpose(g.reshape(w, [G, cog, cig!, ...ks]), [0, 2, 1, ...spatial]),
    [G * cig!, cog, ...ks],
  );
  const flipped = g.slice(
    swapped,
    ks.map(() => -1),
    ks.map(() => -(2 ** 31)),
    ks.map((_, i) => i + 2),
    ks.map(() => -1),
  );
  return g.conv(dy, flipped, undefined, { pads, dilations: d, group: G });
}

export const conv: Vjp = (g, n, dy) => {
  const size = n.inShape(0).slice(2), outSize = n.outShape(0).slice(2);
  const geo = geometry(n, size);
  const { kernel: k, strides: s, pads: p, dilations: d } = geo, r = k.length;
  // Rows the forward pass never reached (stride remainder) come back as output_padding.
  const op = size.map((h, i) =>
    h + p[i]! + p[i + r]! - d[i]! * (k[i]! - 1) - 1 - s[i]! * (outSize[i]! - 1)
  );
  const stride1 = s.every((x) => x === 1);
  return [
    () =>
      (stride1 ? inputGradStride1(g, dy, n.in(1), geo) : null) ??
        g.convTranspose(dy, n.in(1), undefined, options(geo, op)),
    // The im2col adds a spatial axis: up to 2-D kernels, so that it stays within 3-D.
    () =>
      geo.group === 1 && k.length <= 2
        ? weightGradMatmul(g, n.in(0), dy, geo)
        : weightGrad(g, n.in(0), dy, geo),
    () => biasGrad(g, dy),
  ];
};

export const convTranspose: Vjp = (g, n, dy) => {
  const size = n.inShape(0).slice(2);
  const geo = geometry(n, size);
  return [
    () => cropSpatial(g, g.conv(dy, n.in(1), undefined, options(geo)), size),
    () => weightGrad(g, dy, n.in(0), geo),
    () => biasGrad(g, dy),
  ];
};

/** Operator type → rule, for this family. */
export const CONV_RULES: Record<string, Vjp> = { Conv: conv, ConvTranspose: convTranspose };
