/**
 * What a model session is to the rest of core, whichever ONNX Runtime runs it: host tensors
 * in and out, and one check of the feeds (names, dtypes, static dims) that every adapter
 * runs before its runtime does. core/onnx/runtime.ts adapts onnxruntime-node,
 * core/onnx/web_runtime.ts onnxruntime-web; nothing here imports either.
 *
 * @module
 */
import { DType, type Model } from "./types.ts";

/** Host-side tensor types passed to and from sessions. */
export type HostDType = "float32" | "float64" | "int32" | "int64" | "bool";

/** A tensor on the host. int64 data is a BigInt64Array. */
export interface HostTensor {
  dtype: HostDType;
  dims: number[];
  data: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;
}

/** What a graph input must be fed: its dtype and shape (a string or null: any size). */
export interface InputSpec {
  dtype: HostDType;
  shape: (number | string | null)[] | null;
}

/** A loaded model, run on host tensors. */
export interface HostSession {
  /** The graph's outputs, in order. */
  readonly outputNames: readonly string[];
  /** Runs the model on checked feeds; returns the named outputs (default all). */
  run(
    feeds: Record<string, HostTensor>,
    outputs?: string[],
  ): Promise<Record<string, HostTensor>>;
  /** Frees the runtime's session. */
  release(): Promise<void>;
}

/** An output tensor as either ONNX Runtime package returns it. */
export interface RuntimeOutput {
  type: string;
  dims: readonly number[];
}

/**
 * One checked run through either ONNX Runtime package, so the two adapters differ only in how
 * they make and read tensors: the feeds are checked ({@linkcode checkFeeds}), converted by
 * `toRuntime`, run, and each output read back by `read` as a host tensor.
 */
export async function runChecked<In, Out extends RuntimeOutput>(
  inputs: ReadonlyMap<string, InputSpec>,
  feeds: Record<string, HostTensor>,
  toRuntime: (t: HostTensor) => In,
  run: (feeds: Record<string, In>) => Promise<Record<string, Out>>,
  read: (t: Out) => HostTensor["data"] | Promise<HostTensor["data"]>,
): Promise<Record<string, HostTensor>> {
  checkFeeds(inputs, feeds);
  const runtimeFeeds: Record<string, In> = {};
  for (const [name, t] of Object.entries(feeds)) runtimeFeeds[name] = toRuntime(t);
  const result = await run(runtimeFeeds);
  const out: Record<string, HostTensor> = {};
  for (const [name, t] of Object.entries(result)) {
    out[name] = { dtype: t.type as HostDType, dims: [...t.dims], data: await read(t) };
  }
  return out;
}

/**
 * Checks every feed's name, dtype and static dims against the graph's inputs, so a mistake
 * reads as a sentence rather than a runtime's stack trace.
 *
 * @param inputs The graph inputs that must be fed.
 * @param feeds The feeds.
 * @throws {Error} Naming the first missing, unknown or mistyped input.
 * @example
 * ```ts
 * import { checkFeeds } from "./host_session.ts";
 * const inputs = new Map([["x", { dtype: "float32" as const, shape: ["batch", 2] }]]);
 * checkFeeds(inputs, { x: { dtype: "float32", dims: [3, 2], data: new Float32Array(6) } });
 * ```
 */
export function checkFeeds(
  inputs: ReadonlyMap<string, InputSpec>,
  feeds: Record<string, HostTensor>,
): void {
  for (const [name, spec] of inputs) {
    const t = feeds[name];
    if (!t) throw new Error(`missing input '${name}'`);
    if (t.dtype !== spec.dtype) {
      throw new Error(`input '${name}' must be ${spec.dtype}, got ${t.dtype}`);
    }
    if (spec.shape) {
      const ok = spec.shape.length === t.dims.length &&
        spec.shape.every((d, i) => typeof d !== "number" || d === t.dims[i]);
      if (!ok) {
        throw new Error(
          `input '${name}' must have shape [${spec.shape.join(",")}], got [${t.dims.join(",")}]`,
        );
      }
    }
  }
  for (const name of Object.keys(feeds)) {
    if (!inputs.has(name)) throw new Error(`unknown input '${name}'`);
  }
}

const HOST_DTYPE: Partial<Record<DType, HostDType>> = {
  [DType.FLOAT]: "float32",
  [DType.DOUBLE]: "float64",
  [DType.INT32]: "int32",
  [DType.INT64]: "int64",
  [DType.BOOL]: "bool",
};

/**
 * The host dtype of an ONNX dtype.
 * @throws {Error} For a dtype sessions do not exchange.
 * @example
 * ```ts
 * import { hostDType } from "./host_session.ts";
 * import { DType } from "./types.ts";
 * console.assert(hostDType(DType.FLOAT) === "float32");
 * ```
 */
export function hostDType(dtype: DType): HostDType {
  const h = HOST_DTYPE[dtype];
  if (!h) throw new Error(`unsupported tensor dtype ${DType[dtype] ?? dtype}`);
  return h;
}

/**
 * The inputs of a graph that must be fed (those that are not initializers).
 * @example
 * ```ts ignore
 * const specs = graphInputs(model); // Map { "input_ids" => { dtype: "int32", shape: [...] } }
 * ```
 */
export function graphInputs(model: Model): Map<string, InputSpec> {
  const inputs = new Map<string, InputSpec>();
  const init = new Set(model.graph.initializers.map((t) => t.name));
  for (const v of model.graph.inputs) {
    if (!init.has(v.name)) inputs.set(v.name, { dtype: hostDType(v.dtype), shape: v.shape });
  }
  return inputs;
}
