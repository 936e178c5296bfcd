/**
 * A typed ONNX graph builder: one method per operator, names generated, every emitted
 * node shape-inferred at once (so code that builds graphs, like the autodiff rules, can
 * ask for any value's static shape and dtype).
 *
 * @example
 * ```ts ignore
 * const g = new Builder(table, 17);
 * const y = g.add(g.matmul("x", "w"), "b");
 * ```
 * @module
 */
import { type ShapeTable, type ValueType } from "./shape_inference.ts";
import { makeTensor } from "./tensor_data.ts";
import { type Attribute, DType, type Node, type Tensor } from "./types.ts";

/** A value name, or a number meaning a scalar constant of the other operand's dtype. */
export type Operand = string | number;

/** Attribute constructors: `int("axis", 1)`, `floats("scales", [2, 2])`, ... */
export const attr = {
  int: (name: string, i: number): Attribute => ({ name, type: "int", i }),
  float: (name: string, f: number): Attribute => ({ name, type: "float", f }),
  ints: (name: string, ints: number[]): Attribute => ({ name, type: "ints", ints }),
  floats: (name: string, floats: number[]): Attribute => ({ name, type: "floats", floats }),
  string: (name: string, s: string): Attribute => ({ name, type: "string", s }),
  tensor: (name: string, t: Tensor): Attribute => ({ name, type: "tensor", t }),
};

/** Options of Conv and ConvTranspose; pads are ONNX order [begin..., end...]. */
export interface ConvOptions {
  strides?: number[];
  pads?: number[];
  dilations?: number[];
  group?: number;
  outputPadding?: number[];
}

/** Builds nodes and inline constants on top of a shape table. */
export class Builder {
  readonly nodes: Node[] = [];
  readonly initializers: Tensor[] = [];
  private count = 0;
  private readonly constCache = new Map<string, string>();

  /**
   * @param table shapes and constant values of every existing value; extended as nodes are added
   * @param opset ai.onnx opset of the emitted nodes
   * @param prefix prefix of generated names, to keep them apart from existing ones
   */
  constructor(readonly table: ShapeTable, readonly opset: number, readonly prefix = "ad") {}

  /** A new unique value name. */
  fresh(hint: string): string {
    let name: string;
    do name = `${this.prefix}/${hint}_${this.count++}`; while (this.table.types.has(name));
    return name;
  }

  /** The static dtype and shape of a value. */
  type(x: string): ValueType {
    return this.table.type(x);
  }

  /** The static shape of a value. */
  shape(x: string): number[] {
    return this.table.type(x).shape;
  }

  /** The dtype of a value. */
  dtype(x: string): DType {
    return this.table.type(x).dtype;
  }

  /** Emits a node with `nOut` outputs; returns the output names. */
  op(opType: string, inputs: string[], attributes: Attribute[] = [], nOut = 1): string[] {
    const outputs = Array.from({ length: nOut }, () => this.fresh(opType));
    const node: Node = {
      name: this.fresh(`${opType}_node`),
      opType,
      domain: "",
      inputs,
      outputs,
      attributes,
    };
    this.table.addNode(node, this.opset);
    this.nodes.push(node);
    return outputs;
  }

  /** Emits a single-output node. */
  one(opType: string, inputs: string[], attributes: Attribute[] = []): string {
    return this.op(opType, inputs, attributes, 1)[0]!;
  }

  /** Gives value `x` the exact name `name` (an Identity node), e.g. for graph outputs. */
  name(x: string, name: string): string {
    if (this.table.types.has(name)) throw new Error(`builder: name '${name}' is already used`);
    const node: Node = {
      name: `${name}_identity`,
      opType: "Identity",
      domain: "",
      inputs: [x],
      outputs: [name],
      attributes: [],
    };
    this.table.addNode(node, this.opset);
    this.nodes.push(node);
    return name;
  }

  /** An inline constant tensor (cached by content). */
  constant(dtype: DType, dims: number[], values: readonly number[]): string {
    const key = `${dtype}|${dims.join(",")}|${values.join(",")}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const name = this.fresh("const");
    const t = makeTensor(name, dtype, dims, values);
    this.initializers.push(t);
    this.table.types.set(name, { dtype, shape: [...dims] });
    this.table.values.set(name, { dtype, shape: [...dims], data: [...values] });
    this.constCache.set(key, name);
    return name;
  }

  /** An int64 1-D constant (axes, shapes, pads). */
  ints(values: readonly number[]): string {
    return this.constant(DType.INT64, [values.length], values);
  }

  /** A scalar constant with the dtype of `like`. */
  scalar(value: number, like: string): string {
    return this.constant(this.dtype(like), [], [value]);
  }

  private pair(a: Operand, b: Operand): [string, string] {
    if (typeof a === "number" && typeof b === "number") {
      throw new Error("builder: at least one operand must be a value");
    }
    const x = typeof a === "number" ? this.scalar(a, b as string) : a;
    const y = typeof b === "number" ? this.scalar(b, a as string) : b;
    return [x, y];
  }

  add(a: Operand, b: Operand): string {
    return this.one("Add", this.pair(a, b));
  }
  sub(a: Operand, b: Operand): string {
    return this.one("Sub", this.pair(a, b));
  }
  mul(a: Operand, b: Operand): string {
    return this.one("Mul", this.pair(a, b));
  }
  div(a: Operand, b: Operand): string {
    return this.one("Div", this.pair(a, b));
  }
  pow(a: Operand, b: Operand): string {
    return this.one("Pow", this.pair(a, b));
  }
  equal(a: Operand, b: Operand): string {
    return this.one("Equal", this.pair(a, b));
  }
  less(a: Operand, b: Operand): string {
    return this.one("Less", this.pair(a, b));
  }
  greater(a: Operand, b: Operand): string {
    return this.one("Greater", this.pair(a, b));
  }
  neg(x: string): string {
    return this.one("Neg", [x]);
  }
  sqrt(x: string): string {
    return this.one("Sqrt", [x]);
  }
  reciprocal(x: string): string {
    return this.one("Reciprocal", [x]);
  }
  exp(x: string): string {
    return this.one("Exp", [x]);
  }
  log(x: string): string {
    return this.one("Log", [x]);
  }
  erf(x: string): string {
    return this.one("Erf", [x]);
  }
  tanh(x: string): string {
    return this.one("Tanh", [x]);
  }
  sigmoid(x: string): string {
    return this.one("Sigmoid", [x]);
  }
  sin(x: string): string {
    return this.one("Sin", [x]);
  }
  cos(x: string): string {
    return this.one("Cos", [x]);
  }
  abs(x: string): string {
    return this.one("Abs", [x]);
  }
  sign(x: string): string {
    return this.one("Sign", [x]);
  }
  identity(x: string): string {
    return this.one("Identity", [x]);
  }

  /** `cond ? a : b` elementwise; numbers take the dtype of the other branch. */
  where(cond: string, a: Operand, b: Operand): string {
    const [x, y] = this.pair(a, b);
    return this.one("Where", [cond, x, y]);
  }

  /** a / b where b != 0, else 0 (gradients at kinks and zeros, as PyTorch defines them). */
  divOrZero(a: Operand, b: string): string {
    const isZero = this.equal(b, 0);
    const safe = this.where(isZero, 1, b);
    return this.where(isZero, 0, this.div(a, safe));
  }

  /** Sum of several same-dtype values (broadcasting). */
  sum(xs: string[]): string {
    if (xs.length === 0) throw new Error("builder: sum of nothing");
    return xs.length === 1 ? xs[0]! : this.one("Sum", xs);
  }

  matmul(a: string, b: string): string {
    return this.one("MatMul", [a, b]);
  }

  /** Gemm: alpha * op(a) @ op(b) + beta * c. */
  gemm(
    a: string,
    b: string,
    c?: string,
    o: { transA?: boolean; transB?: boolean; alpha?: number; beta?: number } = {},
  ): string {
    return this.one("Gemm", c ? [a, b, c] : [a, b], [
      attr.int("transA", o.transA ? 1 : 0),
      attr.int("transB", o.transB ? 1 : 0),
      attr.float("alpha", o.alpha ?? 1),
      attr.float("beta", o.beta ?? 1),
    ]);
  }

  einsum(equation: string, ...xs: string[]): string {
    return this.one("Einsum", xs, [attr.string("equation", equation)]);
  }

  transpose(x: string, perm: number[]): string {
    return this.one("Transpose", [x], [attr.ints("perm", perm)]);
  }

  /** Reshape to a static shape; a no-op when the shape is already right. */
  reshape(x: string, shape: number[]): string {
    const cur = this.shape(x);
    if (cur.length === shape.length && cur.every((d, i) => d === shape[i])) return x;
    return this.one("Reshape", [x, this.ints(shape)]);
  }

  expand(x: string, shape: number[]): string {
    return this.one("Expand", [x, this.ints(shape)]);
  }

  unsqueeze(x: string, axes: number[]): string {
    return this.one("Unsqueeze", [x, this.ints(axes)]);
  }

  squeeze(x: string, axes: number[]): string {
    return this.one("Squeeze", [x, this.ints(axes)]);
  }

  concat(xs: string[], axis: number): string {
    return this.one("Concat", xs, [attr.int("axis", axis)]);
  }

  split(x: string, sizes: number[], axis: number): string[] {
    return this.op("Split", [x, this.ints(sizes)], [attr.int("axis", axis)], sizes.length);
  }

  slice(x: string, starts: number[], ends: number[], axes: number[], steps?: number[]): string {
    const inputs = [x, this.ints(starts), this.ints(ends), this.ints(axes)];
    if (steps) inputs.push(this.ints(steps));
    return this.one("Slice", inputs);
  }

  /** Constant padding; pads in ONNX order [begin..., end...] over all axes. */
  pad(x: string, pads: number[], value = 0): string {
    return this.one("Pad", [x, this.ints(pads), this.scalar(value, x)], [
      attr.string("mode", "constant"),
    ]);
  }

  /** ReduceSum over `axes` (empty axes: returns x unchanged). */
  reduceSum(x: string, axes: number[], keepdims = true): string {
    if (axes.length === 0) return x;
    return this.one("ReduceSum", [x, this.ints(axes)], [attr.int("keepdims", keepdims ? 1 : 0)]);
  }

  /** ReduceMean, with axes as attribute or input as the opset requires. */
  reduceMean(x: string, axes: number[], keepdims = true): string {
    if (axes.length === 0) return x;
    const keep = attr.int("keepdims", keepdims ? 1 : 0);
    return this.opset >= 18
      ? this.one("ReduceMean", [x, this.ints(axes)], [keep])
      : this.one("ReduceMean", [x], [attr.ints("axes", axes), keep]);
  }

  softmax(x: string, axis: number): string {
    return this.one("Softmax", [x], [attr.int("axis", axis)]);
  }

  cast(x: string, to: DType): string {
    return this.one("Cast", [x], [attr.int("to", to)]);
  }

  conv(x: string, w: string, b: string | undefined, o: ConvOptions = {}): string {
    return this.one("Conv", b ? [x, w, b] : [x, w], convAttrs(o));
  }

  convTranspose(x: string, w: string, b: string | undefined, o: ConvOptions = {}): string {
    const attrs = convAttrs(o);
    if (o.outputPadding) attrs.push(attr.ints("output_padding", o.outputPadding));
    return this.one("ConvTranspose", b ? [x, w, b] : [x, w], attrs);
  }

  /** ScatterND with reduction add (opset 16+): data[indices] += updates. */
  scatterNDAdd(data: string, indices: string, updates: string): string {
    return this.one("ScatterND", [data, indices, updates], [attr.string("reduction", "add")]);
  }

  /** A zero tensor of the given shape and dtype. */
  zeros(shape: number[], dtype: DType): string {
    const z = this.constant(dtype, [], [0]);
    return shape.length === 0 ? z : this.expand(z, shape);
  }

  /** Sums `grad` down to `shape` after numpy broadcasting (the one un-broadcast). */
  unbroadcast(grad: string, shape: number[]): string {
    const gs = this.shape(grad);
    const lead = gs.length - shape.length;
    const axes: number[] = [];
    for (let i = 0; i < gs.length; i++) {
      const d = i < lead ? 1 : shape[i - lead]!;
      if (i < lead || (d === 1 && gs[i] !== 1)) axes.push(i);
    }
    return this.reshape(this.reduceSum(grad, axes, true), shape);
  }
}

function convAttrs(o: ConvOptions): Attribute[] {
  const attrs: Attribute[] = [];
  if (o.strides) attrs.push(attr.ints("strides", o.strides));
  if (o.pads) attrs.push(attr.ints("pads", o.pads));
  if (o.dilations) attrs.push(attr.ints("dilations", o.dilations));
  if (o.group && o.group !== 1) attrs.push(attr.int("group", o.group));
  return attrs;
}
