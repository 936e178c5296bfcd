/**
 * The onnxruntime-web adapter of {@linkcode HostSession}: the browser's twin of
 * core/onnx/runtime.ts, with the same feed checks. It imports onnxruntime-web's types only:
 * the page loads the runtime itself (from this server, never a CDN) and passes the module in,
 * so the bundle that holds core's pipeline does not hold ONNX Runtime.
 *
 * @module
 */
import type * as OrtWeb from "onnxruntime-web";
import { type HostSession, type HostTensor, type InputSpec, runChecked } from "./host_session.ts";

/** The onnxruntime-web module (any of its bundles: wasm, webgpu). */
export type OrtWebModule = Pick<typeof OrtWeb, "InferenceSession" | "Tensor" | "env">;

/** Where a web session runs: WebGPU where the browser has it, else WebAssembly on the CPU. */
export type WebProvider = "webgpu" | "wasm";

/** An onnxruntime-web session with checked inputs. */
export class WebSession implements HostSession {
  private constructor(
    private readonly ort: OrtWebModule,
    private readonly session: OrtWeb.InferenceSession,
    private readonly inputs: ReadonlyMap<string, InputSpec>,
  ) {}

  /**
   * Creates a session from a self-contained ONNX file (weights inlined).
   *
   * @param ort The onnxruntime-web module.
   * @param bytes The model file.
   * @param inputs The graph inputs that must be fed (names, dtypes, shapes).
   * @param provider The execution provider (default "wasm").
   * @returns The session.
   * @example
   * ```ts ignore
   * const ort = await import("/playground/ort/ort.wasm.bundle.min.mjs");
   * const s = await WebSession.create(ort, bytes, new Map([["x", { dtype: "float32", shape: [2] }]]));
   * ```
   */
  static async create(
    ort: OrtWebModule,
    bytes: Uint8Array,
    inputs: ReadonlyMap<string, InputSpec>,
    provider: WebProvider = "wasm",
  ): Promise<WebSession> {
    const session = await ort.InferenceSession.create(bytes, {
      executionProviders: [provider],
      graphOptimizationLevel: "all",
      logSeverityLevel: 3,
    });
    return new WebSession(ort, session, inputs);
  }

  /** The graph's outputs, in order. */
  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /** Runs the model; checks every feed's name, dtype and static dims first. */
  run(
    feeds: Record<string, HostTensor>,
    outputs?: string[],
  ): Promise<Record<string, HostTensor>> {
    return runChecked(
      this.inputs,
      feeds,
      // The constructor's overloads are per dtype; the feeds are checked first.
      (t) => new this.ort.Tensor(t.dtype, t.data as Float32Array, t.dims),
      (f) => this.session.run(f, outputs ?? [...this.outputNames]),
      async (t) => (await t.getData()) as HostTensor["data"],
    );
  }

  /** Frees the session. */
  async release(): Promise<void> {
    await this.session.release();
  }
}
