/** Reading the PyTorch reference fixtures (arrays as {shape, dtype, data}). */
import type { HostTensor } from "../../core/onnx/runtime.ts";

export const FIXTURES = new URL("../fixtures/", import.meta.url).pathname;

export interface JsonArray {
  shape: number[];
  dtype: string;
  data: number[];
}

export async function readJson<T>(rel: string): Promise<T> {
  return JSON.parse(await Deno.readTextFile(`${FIXTURES}${rel}`)) as T;
}

/** A fixture array as a float32 (or int32) host tensor. */
export function host(a: JsonArray, dtype: "float32" | "float64" = "float32"): HostTensor {
  if (a.dtype === "int32") return { dtype: "int32", dims: a.shape, data: Int32Array.from(a.data) };
  if (a.dtype === "int64") {
    return { dtype: "int64", dims: a.shape, data: BigInt64Array.from(a.data.map(BigInt)) };
  }
  return dtype === "float64"
    ? { dtype, dims: a.shape, data: Float64Array.from(a.data) }
    : { dtype, dims: a.shape, data: Float32Array.from(a.data) };
}

/** Relative L2 error ||a - b|| / ||b||. */
export function relL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (Number(a[i]) - Number(b[i])) ** 2;
    den += Number(b[i]) ** 2;
  }
  return Math.sqrt(num) / Math.sqrt(den);
}
