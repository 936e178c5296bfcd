/**
 * Shared pieces of static shape inference: the value types, the per-node context the
 * rules receive, attribute readers, dtype rounding, tensor decoding and broadcasting.
 *
 * @module
 */
import { DType, DTYPE_SIZE, type Node, numel, type Tensor } from "../types.ts";

/** A value's element type and fully concrete shape. */
export interface ValueType {
  dtype: DType;
  shape: number[];
}

/** A small constant known at load time: row-major data, int64 as JS number, bool as 0/1. */
export interface ConstValue {
  dtype: DType;
  shape: number[];
  data: number[];
}

/** What inference learned about one node: one entry per node output. */
export interface NodeInference {
  types: ValueType[];
  values: (ConstValue | undefined)[];
}

/** Largest number of elements a folded value may have; bigger values are not computed. */
export const FOLD_LIMIT = 4096;

/**
 * What a rule returns. `fold` computes the data of every output and is only called when all
 * present inputs have values and the outputs are small; `values` is for rules (Shape, Size)
 * whose result is known even when their inputs' data is not.
 */
export interface RuleOut {
  types: ValueType[];
  fold?: () => number[][];
  values?: (ConstValue | undefined)[];
}

/** The inputs of the node being inferred, with helpers that name the node in errors. */
export class Ctx {
  constructor(
    readonly node: Node,
    readonly inputs: readonly (ValueType | undefined)[],
    readonly values: readonly (ConstValue | undefined)[],
    readonly opset: number,
  ) {}

  /** Throws an error naming the node. */
  fail(msg: string): never {
    throw new Error(`shape inference: node '${this.node.name}' (${this.node.opType}): ${msg}`);
  }

  /** Whether optional input `i` is given. */
  has(i: number): boolean {
    return i < this.node.inputs.length && this.node.inputs[i] !== "" &&
      this.inputs[i] !== undefined;
  }

  /** Type of input `i`, which must be present. */
  in(i: number): ValueType {
    const t = this.has(i) ? this.inputs[i] : undefined;
    if (!t) this.fail(`input ${i} is missing`);
    return t;
  }

  /** Shape of input `i`. */
  shape(i: number): number[] {
    return this.in(i).shape;
  }

  /** Value of input `i` if it is a known constant. */
  val(i: number): ConstValue | undefined {
    return this.has(i) ? this.values[i] : undefined;
  }

  /**
   * Value of input `i`, which the output shape depends on, so it must be computable at load
   * time (a constant or a Shape-derived subgraph).
   */
  need(i: number): ConstValue {
    const v = this.val(i);
    if (!v) {
      this.fail(
        `input ${i} ('${this.node.inputs[i] ?? ""}') determines the output shape but its ` +
          `value is not known statically`,
      );
    }
    return v;
  }

  /** Data of input `i` during folding (present by then). */
  data(i: number): number[] {
    const v = this.val(i);
    if (!v) this.fail(`input ${i} has no value to fold`);
    return v.data;
  }

  /** Normalizes a possibly negative axis against `rank`, failing when out of range. */
  axis(a: number, rank: number, what = "axis"): number {
    if (a < -rank || a >= rank) this.fail(`${what} ${a} is out of range for rank ${rank}`);
    return a < 0 ? a + rank : a;
  }
}

/** A rule infers one operator (family). */
export type Rule = (c: Ctx) => RuleOut;

/** A single-output result. */
export function one(dtype: DType, shape: number[], fold?: () => number[]): RuleOut {
  return { types: [{ dtype, shape }], fold: fold && (() => [fold()]) };
}

// ---- attributes -------------------------------------------------------------------------

function attr(node: Node, name: string) {
  return node.attributes.find((a) => a.name === name);
}

/** An int attribute, or `def` when absent. */
export function attrInt(node: Node, name: string, def: number): number {
  const a = attr(node, name);
  return a?.type === "int" ? a.i : def;
}

/** An ints attribute, or `def` when absent. */
export function attrInts(node: Node, name: string): number[] | undefined;
export function attrInts(node: Node, name: string, def: number[]): number[];
export function attrInts(node: Node, name: string, def?: number[]): number[] | undefined {
  const a = attr(node, name);
  return a?.type === "ints" ? a.ints : def;
}

/** A float attribute, or `def` when absent. */
export function attrFloat(node: Node, name: string, def: number): number {
  const a = attr(node, name);
  return a?.type === "float" ? a.f : def;
}

/** A string attribute, or `def` when absent. */
export function attrString(node: Node, name: string, def: string): string {
  const a = attr(node, name);
  return a?.type === "string" ? a.s : def;
}

/** A tensor attribute, if present. */
export function attrTensor(node: Node, name: string): Tensor | undefined {
  const a = attr(node, name);
  return a?.type === "tensor" ? a.t : undefined;
}

/** Any attribute by name (for Constant, whose value may sit in one of several fields). */
export function attrAny(node: Node, name: string) {
  return attr(node, name);
}

// ---- dtypes -----------------------------------------------------------------------------

/** The dtype's enum name, for messages. */
export function dtypeName(d: DType): string {
  return DType[d] ?? `dtype ${d}`;
}

const INT_DTYPES = new Set<DType>([
  DType.UINT8,
  DType.INT8,
  DType.UINT16,
  DType.INT16,
  DType.INT32,
  DType.INT64,
  DType.UINT32,
  DType.UINT64,
]);

/** True for integer dtypes (not bool), where Div truncates. */
export function isInt(d: DType): boolean {
  return INT_DTYPES.has(d);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const mathF16 = (Math as unknown as { f16round?: (x: number) => number }).f16round;

/** Rounds `x` to what a tensor of `dtype` can hold, like a store into that tensor would. */
export function roundTo(dtype: DType, x: number): number {
  switch (dtype) {
    case DType.FLOAT:
      return Math.fround(x);
    case DType.DOUBLE:
      return x;
    case DType.FLOAT16:
      return mathF16 ? mathF16(x) : Math.fround(x);
    case DType.BFLOAT16: {
      // Round-to-nearest-even on the upper 16 bits of the float32 pattern.
      f32[0] = x;
      if (Number.isNaN(x)) return x;
      const b = u32[0]!;
      u32[0] = ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) << 16;
      return f32[0];
    }
    case DType.BOOL:
      return x !== 0 ? 1 : 0;
  }
  // Integers: float->int conversion truncates; narrow types wrap like C casts.
  const t = Number.isFinite(x) ? Math.trunc(x) : 0;
  switch (dtype) {
    case DType.INT8:
      return (t << 24) >> 24;
    case DType.UINT8:
      return t & 0xff;
    case DType.INT16:
      return (t << 16) >> 16;
    case DType.UINT16:
      return t & 0xffff;
    case DType.INT32:
      return t | 0;
    case DType.UINT32:
      return t >>> 0;
    default:
      return t === 0 ? 0 : t; // turns -0 into 0
  }
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/**
 * Decodes a tensor's inline little-endian bytes into a ConstValue.
 * @throws Error when the tensor's data is external, a string, or the wrong length.
 */
export function tensorToConst(t: Tensor): ConstValue {
  if (!t.data) throw new Error(`tensor '${t.name}' has external data; its value is not inline`);
  const size = DTYPE_SIZE[t.dtype];
  if (size === undefined) {
    throw new Error(`tensor '${t.name}': cannot decode ${dtypeName(t.dtype)} values`);
  }
  const n = numel(t.dims);
  if (t.data.length !== n * size) {
    throw new Error(
      `tensor '${t.name}': ${t.data.length} bytes for ${n} ${dtypeName(t.dtype)} elements`,
    );
  }
  const dv = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const read: (o: number) => number = {
    [DType.FLOAT]: (o: number) => dv.getFloat32(o, true),
    [DType.DOUBLE]: (o: number) => dv.getFloat64(o, true),
    [DType.FLOAT16]: (o: number) => halfToFloat(dv.getUint16(o, true)),
    [DType.BFLOAT16]: (o: number) => {
      f32[0] = 0;
      u32[0] = dv.getUint16(o, true) << 16;
      return f32[0];
    },
    [DType.UINT8]: (o: number) => dv.getUint8(o),
    [DType.INT8]: (o: number) => dv.getInt8(o),
    [DType.UINT16]: (o: number) => dv.getUint16(o, true),
    [DType.INT16]: (o: number) => dv.getInt16(o, true),
    [DType.INT32]: (o: number) => dv.getInt32(o, true),
    [DType.UINT32]: (o: number) => dv.getUint32(o, true),
    [DType.INT64]: (o: number) => Number(dv.getBigInt64(o, true)),
    [DType.UINT64]: (o: number) => Number(dv.getBigUint64(o, true)),
    [DType.BOOL]: (o: number) => (dv.getUint8(o) !== 0 ? 1 : 0),
  }[t.dtype as number] as (o: number) => number;
  const data = new Array<number>(n);
  for (let i = 0; i < n; i++) data[i] = read(i * size);
  return { dtype: t.dtype, shape: [...t.dims], data };
}

// ---- shapes -----------------------------------------------------------------------------

/** Row-major strides of `shape`. */
export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** Numpy broadcast of several shapes; fails through `c` when they are incompatible. */
export function broadcast(c: Ctx, shapes: readonly (readonly number[])[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = rank - s.length + i;
      const d = s[i]!;
      if (d === out[o] || d === 1) continue;
      if (out[o] === 1) out[o] = d;
      else c.fail(`shapes ${shapes.map(fmt).join(", ")} cannot be broadcast together`);
    }
  }
  return out;
}

/** For each element of `out`, the flat index of the element of a broadcast input `inp`. */
export function broadcastIndex(out: readonly number[], inp: readonly number[]): Int32Array {
  const n = numel(out);
  const idx = new Int32Array(n);
  const inStr = strides(inp);
  const off = out.length - inp.length;
  // Strides of the input seen in output coordinates: 0 where the input is broadcast.
  const eff = out.map((_, o) => (o < off || inp[o - off] === 1 ? 0 : inStr[o - off]));
  const pos = new Array<number>(out.length).fill(0);
  let flat = 0;
  for (let i = 0; i < n; i++) {
    idx[i] = flat;
    for (let d = out.length - 1; d >= 0; d--) {
      const p = ++pos[d]!;
      flat += eff[d]!;
      if (p < out[d]!) break;
      flat -= eff[d]! * p;
      pos[d] = 0;
    }
  }
  return idx;
}

/** Applies `f` elementwise over the broadcast of input data arrays. */
export function mapBroadcast(
  out: readonly number[],
  ins: readonly { shape: number[]; data: number[] }[],
  f: (xs: number[]) => number,
): number[] {
  const idx = ins.map((v) => broadcastIndex(out, v.shape));
  const n = numel(out);
  const res = new Array<number>(n);
  const xs = new Array<number>(ins.length);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < ins.length; k++) xs[k] = ins[k]!.data[idx[k]![i]!]!;
    res[i] = f(xs);
  }
  return res;
}

/** Shape as text for messages. */
export function fmt(shape: readonly number[]): string {
  return `[${shape.join(",")}]`;
}

/** Calls `f` with every position of `shape` in row-major order and collects the results. */
export function mapIndex(shape: readonly number[], f: (pos: number[]) => number): number[] {
  const n = numel(shape);
  const res = new Array<number>(n);
  const pos = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    res[i] = f(pos);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++pos[d]! < shape[d]!) break;
      pos[d] = 0;
    }
  }
  return res;
}

/** Sum of products: the flat offset of a position given strides. */
export function dot(pos: readonly number[], str: readonly number[]): number {
  let f = 0;
  for (let k = 0; k < pos.length; k++) f += pos[k]! * str[k]!;
  return f;
}
