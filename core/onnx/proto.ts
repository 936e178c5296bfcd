/**
 * ONNX protobuf encoding and decoding with protobufjs, from a schema that is the subset
 * of onnx.proto (IR version 10) the project uses. Field numbers and packing follow
 * onnx.proto exactly, so files round-trip with other ONNX tools.
 *
 * @module
 */
import protobuf from "protobufjs";
import {
  type Attribute,
  DType,
  DTYPE_SIZE,
  type Graph,
  type Model,
  type Node,
  type Tensor,
  type ValueInfo,
} from "./types.ts";

const SCHEMA = `
syntax = "proto2";
package onnx;
message AttributeProto {
  enum AttributeType { UNDEFINED = 0; FLOAT = 1; INT = 2; STRING = 3; TENSOR = 4; GRAPH = 5;
    SPARSE_TENSOR = 11; TYPE_PROTO = 13; FLOATS = 6; INTS = 7; STRINGS = 8; TENSORS = 9;
    GRAPHS = 10; SPARSE_TENSORS = 12; TYPE_PROTOS = 14; }
  optional string name = 1;
  optional string ref_attr_name = 21;
  optional string doc_string = 13;
  optional AttributeType type = 20;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  optional TensorProto t = 5;
  optional GraphProto g = 6;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
  repeated TensorProto tensors = 10;
  repeated GraphProto graphs = 11;
}
message ValueInfoProto {
  optional string name = 1;
  optional TypeProto type = 2;
  optional string doc_string = 3;
}
message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  optional string domain = 7;
  repeated AttributeProto attribute = 5;
  optional string doc_string = 6;
}
message StringStringEntryProto {
  optional string key = 1;
  optional string value = 2;
}
message OperatorSetIdProto {
  optional string domain = 1;
  optional int64 version = 2;
}
message FunctionProto {
  optional string name = 1;
}
message ModelProto {
  optional int64 ir_version = 1;
  repeated OperatorSetIdProto opset_import = 8;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string domain = 4;
  optional int64 model_version = 5;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated StringStringEntryProto metadata_props = 14;
  repeated FunctionProto functions = 25;
}
message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  optional string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated ValueInfoProto value_info = 13;
}
message TensorProto {
  enum DataLocation { DEFAULT = 0; EXTERNAL = 1; }
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  repeated float float_data = 4 [packed = true];
  repeated int32 int32_data = 5 [packed = true];
  repeated bytes string_data = 6;
  repeated int64 int64_data = 7 [packed = true];
  optional string name = 8;
  optional string doc_string = 12;
  optional bytes raw_data = 9;
  repeated StringStringEntryProto external_data = 13;
  optional DataLocation data_location = 14;
  repeated double double_data = 10 [packed = true];
  repeated uint64 uint64_data = 11 [packed = true];
}
message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
    optional string denotation = 3;
  }
  repeated Dimension dim = 1;
}
message TypeProto {
  message Tensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
  }
  optional string denotation = 6;
}
`;

const root = protobuf.parse(SCHEMA, { keepCase: true }).root;
const ModelProto = root.lookupType("onnx.ModelProto");

// protobufjs yields Long objects for int64 fields when the `long` package is present.
type LongLike = number | { toNumber(): number };
const num = (v: LongLike | null | undefined): number =>
  v == null ? 0 : typeof v === "number" ? v : v.toNumber();

// Loose shapes of the decoded messages: only the fields we read.
interface PTensor {
  dims?: LongLike[];
  data_type?: number;
  float_data?: number[];
  int32_data?: number[];
  int64_data?: LongLike[];
  double_data?: number[];
  uint64_data?: LongLike[];
  name?: string;
  raw_data?: Uint8Array;
  external_data?: { key?: string; value?: string }[];
  data_location?: number;
}
interface PAttr {
  name?: string;
  type?: number;
  f?: number;
  i?: LongLike;
  s?: Uint8Array;
  t?: PTensor;
  g?: PGraph;
  floats?: number[];
  ints?: LongLike[];
  strings?: Uint8Array[];
  ref_attr_name?: string;
}
interface PNode {
  input?: string[];
  output?: string[];
  name?: string;
  op_type?: string;
  domain?: string;
  attribute?: PAttr[];
}
interface PDim {
  dim_value?: LongLike | null;
  dim_param?: string | null;
  /** The oneof's virtual field: which of dim_value / dim_param is set. */
  value?: string;
}
interface PValueInfo {
  name?: string;
  type?: { tensor_type?: { elem_type?: number; shape?: { dim?: PDim[] } } };
}
interface PGraph {
  node?: PNode[];
  name?: string;
  initializer?: PTensor[];
  input?: PValueInfo[];
  output?: PValueInfo[];
  value_info?: PValueInfo[];
}
interface PModel {
  ir_version?: LongLike;
  opset_import?: { domain?: string; version?: LongLike }[];
  producer_name?: string;
  producer_version?: string;
  graph?: PGraph;
  functions?: unknown[];
}

const textDecoder = new TextDecoder();
const textEncoder = new TextEncoder();

function typedBytes(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

function decodeTensor(p: PTensor): Tensor {
  const dtype = (p.data_type ?? 0) as DType;
  const t: Tensor = { name: p.name ?? "", dtype, dims: (p.dims ?? []).map(num) };
  if (p.data_location === 1) {
    const kv = new Map((p.external_data ?? []).map((e) => [e.key ?? "", e.value ?? ""]));
    const location = kv.get("location");
    if (!location) throw new Error(`tensor '${t.name}': external data without a location`);
    const count = t.dims.reduce((a, b) => a * b, 1);
    t.external = {
      location,
      offset: Number(kv.get("offset") ?? 0),
      length: Number(kv.get("length") ?? count * (DTYPE_SIZE[dtype] ?? 0)),
    };
    return t;
  }
  if (p.raw_data && p.raw_data.length > 0) {
    // protobufjs hands out Node Buffers; expose plain Uint8Array views of the same memory.
    t.data = new Uint8Array(p.raw_data.buffer, p.raw_data.byteOffset, p.raw_data.byteLength);
  } else if (p.float_data?.length) {
    t.data = typedBytes(Float32Array.from(p.float_data));
  } else if (p.double_data?.length) {
    t.data = typedBytes(Float64Array.from(p.double_data));
  } else if (p.int64_data?.length) {
    t.data = typedBytes(BigInt64Array.from(p.int64_data.map((v) => BigInt(num(v)))));
  } else if (p.uint64_data?.length) {
    t.data = typedBytes(BigUint64Array.from(p.uint64_data.map((v) => BigInt(num(v)))));
  } else if (p.int32_data?.length) {
    const v = p.int32_data;
    switch (dtype) {
      case DType.INT32:
        t.data = typedBytes(Int32Array.from(v));
        break;
      case DType.INT16:
        t.data = typedBytes(Int16Array.from(v));
        break;
      case DType.UINT16:
      case DType.FLOAT16:
      case DType.BFLOAT16:
        t.data = typedBytes(Uint16Array.from(v));
        break;
      case DType.INT8:
        t.data = typedBytes(Int8Array.from(v));
        break;
      default:
        t.data = Uint8Array.from(v);
    }
  } else {
    t.data = new Uint8Array(0);
  }
  return t;
}

function decodeValueInfo(p: PValueInfo): ValueInfo {
  const tt = p.type?.tensor_type;
  return {
    name: p.name ?? "",
    dtype: (tt?.elem_type ?? 0) as DType,
    shape: tt?.shape
      ? (tt.shape.dim ?? []).map((d) =>
        d.value === "dim_value"
          ? num(d.dim_value)
          : d.value === "dim_param"
          ? d.dim_param ?? null
          : null
      )
      : null,
  };
}

function decodeAttr(p: PAttr): Attribute {
  const name = p.name ?? "";
  if (p.ref_attr_name) throw new Error(`attribute '${name}' refers to a function attribute`);
  switch (p.type) {
    case 1:
      return { name, type: "float", f: p.f ?? 0 };
    case 2:
      return { name, type: "int", i: num(p.i) };
    case 3:
      return { name, type: "string", s: textDecoder.decode(p.s ?? new Uint8Array()) };
    case 4:
      return { name, type: "tensor", t: decodeTensor(p.t ?? {}) };
    case 5:
      return { name, type: "graph", g: decodeGraph(p.g ?? {}) };
    case 6:
      return { name, type: "floats", floats: [...(p.floats ?? [])] };
    case 7:
      return { name, type: "ints", ints: (p.ints ?? []).map(num) };
    case 8:
      return {
        name,
        type: "strings",
        strings: (p.strings ?? []).map((s) => textDecoder.decode(s)),
      };
    default:
      throw new Error(`attribute '${name}' has unsupported type ${p.type}`);
  }
}

function decodeNode(p: PNode): Node {
  return {
    name: p.name ?? "",
    opType: p.op_type ?? "",
    domain: p.domain ?? "",
    inputs: [...(p.input ?? [])],
    outputs: [...(p.output ?? [])],
    attributes: (p.attribute ?? []).map(decodeAttr),
  };
}

function decodeGraph(p: PGraph): Graph {
  return {
    name: p.name ?? "",
    nodes: (p.node ?? []).map(decodeNode),
    initializers: (p.initializer ?? []).map(decodeTensor),
    inputs: (p.input ?? []).map(decodeValueInfo),
    outputs: (p.output ?? []).map(decodeValueInfo),
    valueInfo: (p.value_info ?? []).map(decodeValueInfo),
  };
}

/**
 * Decodes ONNX model bytes.
 * @throws Error with a one-line message when the bytes are not an ONNX model.
 */
export function decodeModel(bytes: Uint8Array): Model {
  let p: PModel;
  try {
    p = ModelProto.decode(bytes) as unknown as PModel;
  } catch (e) {
    throw new Error(`not a valid ONNX protobuf: ${(e as Error).message}`);
  }
  if (!p.graph) throw new Error("not a valid ONNX model: no graph");
  if (p.functions && p.functions.length > 0) {
    throw new Error("models with local functions are not supported (inline them first)");
  }
  return {
    irVersion: num(p.ir_version),
    opsetImports: (p.opset_import ?? []).map((o) => ({
      domain: o.domain ?? "",
      version: num(o.version),
    })),
    producerName: p.producer_name ?? "",
    producerVersion: p.producer_version ?? "",
    graph: decodeGraph(p.graph),
  };
}

function encodeTensor(t: Tensor): Record<string, unknown> {
  const out: Record<string, unknown> = { dims: t.dims, data_type: t.dtype, name: t.name };
  if (t.external) {
    out.data_location = 1;
    out.external_data = [
      { key: "location", value: t.external.location },
      { key: "offset", value: String(t.external.offset) },
      { key: "length", value: String(t.external.length) },
    ];
  } else {
    out.raw_data = t.data ?? new Uint8Array(0);
  }
  return out;
}

const ATTR_CODE = {
  float: 1,
  int: 2,
  string: 3,
  tensor: 4,
  graph: 5,
  floats: 6,
  ints: 7,
  strings: 8,
} as const;

function encodeAttr(a: Attribute): Record<string, unknown> {
  const out: Record<string, unknown> = { name: a.name, type: ATTR_CODE[a.type] };
  switch (a.type) {
    case "float":
      out.f = a.f;
      break;
    case "int":
      out.i = a.i;
      break;
    case "string":
      out.s = textEncoder.encode(a.s);
      break;
    case "tensor":
      out.t = encodeTensor(a.t);
      break;
    case "graph":
      out.g = encodeGraph(a.g);
      break;
    case "floats":
      out.floats = a.floats;
      break;
    case "ints":
      out.ints = a.ints;
      break;
    case "strings":
      out.strings = a.strings.map((s) => textEncoder.encode(s));
      break;
  }
  return out;
}

function encodeValueInfo(v: ValueInfo): Record<string, unknown> {
  const tensorType: Record<string, unknown> = { elem_type: v.dtype };
  if (v.shape) {
    tensorType.shape = {
      dim: v.shape.map((d) =>
        typeof d === "number" ? { dim_value: d } : typeof d === "string" ? { dim_param: d } : {}
      ),
    };
  }
  return { name: v.name, type: { tensor_type: tensorType } };
}

function encodeGraph(g: Graph): Record<string, unknown> {
  return {
    node: g.nodes.map((n) => ({
      input: n.inputs,
      output: n.outputs,
      name: n.name,
      op_type: n.opType,
      domain: n.domain,
      attribute: n.attributes.map(encodeAttr),
    })),
    name: g.name,
    initializer: g.initializers.map(encodeTensor),
    input: g.inputs.map(encodeValueInfo),
    output: g.outputs.map(encodeValueInfo),
    value_info: g.valueInfo.map(encodeValueInfo),
  };
}

/** Encodes a model to ONNX bytes (external tensors stay references). */
export function encodeModel(m: Model): Uint8Array {
  const msg = ModelProto.fromObject({
    ir_version: m.irVersion,
    opset_import: m.opsetImports,
    producer_name: m.producerName,
    producer_version: m.producerVersion,
    graph: encodeGraph(m.graph),
  });
  return ModelProto.encode(msg).finish();
}
