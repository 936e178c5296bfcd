/**
 * Plain TypeScript forms of the ONNX protobuf messages the project reads and writes.
 *
 * Tensor payloads are kept as little-endian bytes (`data`) or as a reference into an
 * external file (`external`), never converted to JS arrays, so that loading and saving a
 * model with hundreds of megabytes of weights stays cheap.
 *
 * @module
 */

/** ONNX TensorProto.DataType codes used by the project. */
export enum DType {
  FLOAT = 1,
  UINT8 = 2,
  INT8 = 3,
  UINT16 = 4,
  INT16 = 5,
  INT32 = 6,
  INT64 = 7,
  STRING = 8,
  BOOL = 9,
  FLOAT16 = 10,
  DOUBLE = 11,
  UINT32 = 12,
  UINT64 = 13,
  BFLOAT16 = 16,
}

/** Bytes per element of each fixed-size dtype. */
export const DTYPE_SIZE: Readonly<Record<number, number>> = {
  [DType.FLOAT]: 4,
  [DType.UINT8]: 1,
  [DType.INT8]: 1,
  [DType.UINT16]: 2,
  [DType.INT16]: 2,
  [DType.INT32]: 4,
  [DType.INT64]: 8,
  [DType.BOOL]: 1,
  [DType.FLOAT16]: 2,
  [DType.DOUBLE]: 8,
  [DType.UINT32]: 4,
  [DType.UINT64]: 8,
  [DType.BFLOAT16]: 2,
};

/** True for dtypes that carry gradients. */
export function isFloat(dtype: DType): boolean {
  return dtype === DType.FLOAT || dtype === DType.DOUBLE ||
    dtype === DType.FLOAT16 || dtype === DType.BFLOAT16;
}

/** Where an externally stored tensor lives, relative to the model's directory. */
export interface ExternalRef {
  location: string;
  offset: number;
  length: number;
}

/** A constant tensor (initializer, Constant value, attribute). */
export interface Tensor {
  name: string;
  dtype: DType;
  dims: number[];
  /** Little-endian raw bytes; absent when `external` is set. */
  data?: Uint8Array;
  external?: ExternalRef;
}

/** A node attribute; `type` says which field holds the value. */
export type Attribute =
  | { name: string; type: "float"; f: number }
  | { name: string; type: "int"; i: number }
  | { name: string; type: "string"; s: string }
  | { name: string; type: "tensor"; t: Tensor }
  | { name: string; type: "graph"; g: Graph }
  | { name: string; type: "floats"; floats: number[] }
  | { name: string; type: "ints"; ints: number[] }
  | { name: string; type: "strings"; strings: string[] };

/** A graph node. An empty input name means "optional input omitted". */
export interface Node {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Attribute[];
}

/** A dimension: a number when known, a symbolic name, or null when unknown. */
export type Dim = number | string | null;

/** A graph input/output/value_info declaration. */
export interface ValueInfo {
  name: string;
  dtype: DType;
  /** null when the rank is unknown. */
  shape: Dim[] | null;
}

/** An ONNX graph. */
export interface Graph {
  name: string;
  nodes: Node[];
  initializers: Tensor[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  valueInfo: ValueInfo[];
}

/** An operator set import. */
export interface OpsetImport {
  domain: string;
  version: number;
}

/** An ONNX model. `baseDir` is where `external` tensor locations resolve. */
export interface Model {
  irVersion: number;
  opsetImports: OpsetImport[];
  producerName: string;
  producerVersion: string;
  graph: Graph;
  /** Directory against which external-data locations are resolved (absolute). */
  baseDir?: string;
}

/** The ai.onnx opset version of a model (the default domain). */
export function defaultOpset(model: Model): number {
  const imp = model.opsetImports.find((o) => o.domain === "" || o.domain === "ai.onnx");
  if (!imp) throw new Error("model has no ai.onnx opset import");
  return imp.version;
}

/** Number of elements of a fully known shape. */
export function numel(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}
