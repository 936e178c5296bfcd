/**
 * Reading safetensors files as ONNX external data: the header gives each tensor's dtype,
 * shape and byte range, and the graph refers to those bytes in place (never copied).
 *
 * @module
 */
import { basename } from "node:path";
import { DType, DTYPE_SIZE, type Tensor } from "../onnx/mod.ts";

const DTYPES: Record<string, DType> = {
  F32: DType.FLOAT,
  F16: DType.FLOAT16,
  BF16: DType.BFLOAT16,
  F64: DType.DOUBLE,
  I64: DType.INT64,
  I32: DType.INT32,
  I16: DType.INT16,
  I8: DType.INT8,
  U8: DType.UINT8,
  BOOL: DType.BOOL,
};

/** One tensor entry of a safetensors file. */
export interface SafetensorsEntry {
  dtype: DType;
  shape: number[];
  /** Absolute byte offset in the file. */
  offset: number;
  length: number;
}

/** The parsed header of a safetensors file. */
export interface SafetensorsIndex {
  path: string;
  tensors: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
}

/**
 * Reads and validates the header of a safetensors file.
 * @throws Error naming the file when it is missing, truncated or malformed.
 */
export async function readSafetensorsIndex(path: string): Promise<SafetensorsIndex> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`safetensors file not found: ${path}`);
    throw e;
  }
  try {
    const size = (await file.stat()).size;
    const head = new Uint8Array(8);
    if (size < 8 || (await file.read(head)) !== 8) {
      throw new Error(`${path}: truncated safetensors file (no header)`);
    }
    const headerLen = Number(new DataView(head.buffer).getBigUint64(0, true));
    if (headerLen > 100_000_000 || 8 + headerLen > size) {
      throw new Error(
        `${path}: truncated or corrupt safetensors file (header length ${headerLen})`,
      );
    }
    const buf = new Uint8Array(headerLen);
    let read = 0;
    while (read < headerLen) {
      const n = await file.read(buf.subarray(read));
      if (n === null) throw new Error(`${path}: truncated safetensors header`);
      read += n;
    }
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(new TextDecoder().decode(buf));
    } catch {
      throw new Error(`${path}: safetensors header is not valid JSON`);
    }
    const dataStart = 8 + headerLen;
    const tensors = new Map<string, SafetensorsEntry>();
    let metadata: Record<string, string> = {};
    for (const [name, raw] of Object.entries(header)) {
      if (name === "__metadata__") {
        metadata = raw as Record<string, string>;
        continue;
      }
      const e = raw as { dtype: string; shape: number[]; data_offsets: [number, number] };
      const dtype = DTYPES[e.dtype];
      if (dtype === undefined) {
        throw new Error(`${path}: tensor '${name}' has unsupported dtype ${e.dtype}`);
      }
      const [begin, end] = e.data_offsets;
      const count = e.shape.reduce((a, b) => a * b, 1);
      if (end - begin !== count * DTYPE_SIZE[dtype]!) {
        throw new Error(`${path}: tensor '${name}' byte range does not match its shape`);
      }
      if (dataStart + end > size) {
        throw new Error(
          `${path}: truncated safetensors file (tensor '${name}' ends past the file)`,
        );
      }
      tensors.set(name, { dtype, shape: e.shape, offset: dataStart + begin, length: end - begin });
    }
    return { path, tensors, metadata };
  } finally {
    file.close();
  }
}

/**
 * An initializer referring to a tensor inside a safetensors file.
 * @param location the file's path relative to the model's `baseDir`
 */
export function externalTensor(
  index: SafetensorsIndex,
  tensorName: string,
  initializerName: string,
  location = basename(index.path),
): Tensor {
  const e = index.tensors.get(tensorName);
  if (!e) throw new Error(`${index.path}: missing tensor '${tensorName}'`);
  return {
    name: initializerName,
    dtype: e.dtype,
    dims: [...e.shape],
    external: { location, offset: e.offset, length: e.length },
  };
}
