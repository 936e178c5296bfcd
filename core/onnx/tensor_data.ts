/**
 * Conversions between JS numbers and ONNX tensor bytes.
 * @module
 */
import { DType, type Tensor } from "./types.ts";

/** A typed array for each numeric dtype. */
export type NumericArray =
  | Float32Array
  | Float64Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Int8Array
  | Int16Array
  | Uint16Array;

/** Encodes numbers as little-endian bytes of `dtype`. */
export function encodeValues(dtype: DType, values: readonly number[]): Uint8Array {
  let arr: ArrayBufferView;
  switch (dtype) {
    case DType.FLOAT:
      arr = Float32Array.from(values);
      break;
    case DType.DOUBLE:
      arr = Float64Array.from(values);
      break;
    case DType.INT32:
      arr = Int32Array.from(values);
      break;
    case DType.INT64:
      arr = BigInt64Array.from(values.map((v) => BigInt(Math.trunc(v))));
      break;
    case DType.BOOL:
    case DType.UINT8:
      arr = Uint8Array.from(values.map((v) => (dtype === DType.BOOL ? (v ? 1 : 0) : v)));
      break;
    case DType.INT8:
      arr = Int8Array.from(values);
      break;
    case DType.INT16:
      arr = Int16Array.from(values);
      break;
    default:
      throw new Error(`cannot encode constants of dtype ${DType[dtype] ?? dtype}`);
  }
  return new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
}

/** Decodes little-endian bytes of `dtype` to numbers (int64 via Number()). */
export function decodeValues(dtype: DType, bytes: Uint8Array): number[] {
  // Copy first: raw_data slices need not be aligned for typed-array views.
  const buf = bytes.slice().buffer;
  switch (dtype) {
    case DType.FLOAT:
      return Array.from(new Float32Array(buf));
    case DType.DOUBLE:
      return Array.from(new Float64Array(buf));
    case DType.INT32:
      return Array.from(new Int32Array(buf));
    case DType.INT64:
      return Array.from(new BigInt64Array(buf), (v) => Number(v));
    case DType.UINT64:
      return Array.from(new BigUint64Array(buf), (v) => Number(v));
    case DType.BOOL:
    case DType.UINT8:
      return Array.from(new Uint8Array(buf));
    case DType.INT8:
      return Array.from(new Int8Array(buf));
    case DType.INT16:
      return Array.from(new Int16Array(buf));
    case DType.UINT16:
      return Array.from(new Uint16Array(buf));
    case DType.UINT32:
      return Array.from(new Uint32Array(buf));
    default:
      throw new Error(`cannot decode constants of dtype ${DType[dtype] ?? dtype}`);
  }
}

/** An inline tensor from numbers. */
export function makeTensor(
  name: string,
  dtype: DType,
  dims: number[],
  values: readonly number[],
): Tensor {
  return { name, dtype, dims: [...dims], data: encodeValues(dtype, values) };
}
