/**
 * The one place that imports onnxruntime-node. Sessions are created from models built
 * in memory or from files; `run` checks input names, dtypes and shapes before calling
 * ONNX Runtime, so a mistake reads as a sentence rather than an ORT stack trace.
 *
 * @module
 */
import * as ort from "onnxruntime-node";
import { dirname, isAbsolute, join, relative, sep } from "node:path";
import { tensorBytes } from "./model.ts";
import { encodeModel } from "./proto.ts";
import type { Model, Tensor } from "./types.ts";
import {
  graphInputs,
  type HostDType,
  type HostSession,
  type HostTensor,
  type InputSpec,
  runChecked,
} from "./host_session.ts";

export type { HostDType, HostTensor };
export { hostDType } from "./host_session.ts";

/** Execution provider: CPU everywhere, CUDA where the CUDA libraries are installed. */
export type ExecutionProvider = "cpu" | "cuda";

/** Session settings. */
export interface SessionOptions {
  provider?: ExecutionProvider;
  /** Threads inside one operator; default: ONNX Runtime's choice (one per core). */
  intraOpThreads?: number;
  /**
   * Threads running independent nodes at once (ONNX Runtime's parallel execution mode);
   * default: none, nodes run one after another.
   */
  interOpThreads?: number;
  /** Graph optimisation level; default "all". */
  optimization?: "disabled" | "basic" | "extended" | "all";
  /**
   * Whether idle intra-op threads spin while waiting for work (ONNX Runtime's default, on).
   */
  spinning?: boolean;
  /**
   * ONNX Runtime's memory pattern planner; default off here (ONNX Runtime's default is on).
   * With the CPU arena it held a train step's peak RSS at 459 MiB against 302 MiB without
   * it (tiny SD2 fixture, paper defaults; 780 against 479 MiB on dd-world-tiny), at the
   * same speed within noise (issue 16; tests/bench/train_step_bench.ts).
   */
  memoryPattern?: boolean;
  /** ONNX Runtime's CPU memory arena (default on). */
  cpuArena?: boolean;
  /** Writes ONNX Runtime's per-node profile (JSON) to files starting with this prefix. */
  profilePrefix?: string;
}

/** The deepest directory containing every path. */
function commonDir(paths: string[]): string {
  let parts = dirname(paths[0]!).split(sep);
  for (const p of paths.slice(1)) {
    const q = dirname(p).split(sep);
    let i = 0;
    while (i < parts.length && i < q.length && parts[i] === q[i]) i++;
    parts = parts.slice(0, i);
  }
  return parts.join(sep) || sep;
}

/**
 * ONNX Runtime only reads external data inside the model file's own directory (after
 * resolving symlinks, as in the Hugging Face cache). So a model whose weights live
 * elsewhere is written, for the moment of session creation, as a hidden file in the
 * deepest directory holding all of its (real) weight files; where that directory is not
 * writable, the weights are read into the model bytes instead (models under 2 GB).
 */
async function createOrtSession(
  model: Model,
  options: ort.InferenceSession.SessionOptions,
): Promise<ort.InferenceSession> {
  const external = model.graph.initializers.filter((t) => t.external);
  if (external.length === 0) return await ort.InferenceSession.create(encodeModel(model), options);
  const base = model.baseDir ?? Deno.cwd();
  const abs = (t: Tensor) =>
    isAbsolute(t.external!.location) ? t.external!.location : join(base, t.external!.location);
  const real = new Map<string, string>();
  for (const t of external) {
    const a = abs(t);
    if (!real.has(a)) {
      try {
        real.set(a, await Deno.realPath(a));
      } catch {
        throw new Error(`external data file not found: ${a} (tensor '${t.name}')`);
      }
    }
  }
  const dir = commonDir([...real.values()]);
  const path = join(dir, `.dd-session-${crypto.randomUUID()}.onnx`);
  const rebased: Model = {
    ...model,
    graph: {
      ...model.graph,
      initializers: model.graph.initializers.map((t) =>
        t.external
          ? { ...t, external: { ...t.external, location: relative(dir, real.get(abs(t))!) } }
          : t
      ),
    },
  };
  try {
    await Deno.writeFile(path, encodeModel(rebased));
  } catch {
    const inlined = await Promise.all(
      model.graph.initializers.map(async (t) =>
        t.external
          ? { name: t.name, dtype: t.dtype, dims: t.dims, data: await tensorBytes(t, base) }
          : t
      ),
    );
    return await ort.InferenceSession.create(
      encodeModel({ ...model, graph: { ...model.graph, initializers: inlined } }),
      options,
    );
  }
  try {
    return await ort.InferenceSession.create(path, options);
  } finally {
    await Deno.remove(path).catch(() => {});
  }
}

/** An ONNX Runtime (onnxruntime-node) session with checked inputs. */
export class Session implements HostSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly inputs: Map<string, InputSpec>,
    readonly outputNames: readonly string[],
  ) {}

  /**
   * Creates a session from an in-memory model (external data resolved against its
   * `baseDir`) or from a file path.
   * @example
   * ```ts ignore
   * const s = await Session.create(model);
   * const out = await s.run({ x: { dtype: "float32", dims: [2], data: new Float32Array(2) } });
   * ```
   */
  static async create(model: Model, opts: SessionOptions = {}): Promise<Session> {
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      executionProviders: [opts.provider ?? "cpu"],
      graphOptimizationLevel: opts.optimization ?? "all",
      // Warnings such as "removing unused initializer" are noise for users; errors still throw.
      logSeverityLevel: 3,
    };
    if (opts.intraOpThreads) sessionOptions.intraOpNumThreads = opts.intraOpThreads;
    if (opts.interOpThreads) {
      sessionOptions.executionMode = "parallel";
      sessionOptions.interOpNumThreads = opts.interOpThreads;
    }
    if (opts.spinning !== undefined) {
      sessionOptions.extra = {
        session: { intra_op: { allow_spinning: opts.spinning ? "1" : "0" } },
      };
    }
    sessionOptions.enableMemPattern = opts.memoryPattern ?? false;
    if (opts.cpuArena !== undefined) sessionOptions.enableCpuMemArena = opts.cpuArena;
    if (opts.profilePrefix) {
      sessionOptions.enableProfiling = true;
      sessionOptions.profileFilePrefix = opts.profilePrefix;
    }
    const session = await createOrtSession(model, sessionOptions);
    const inputs = graphInputs(model);
    return new Session(session, inputs, session.outputNames);
  }

  /** Names of the inputs that must be fed. */
  get inputNames(): string[] {
    return [...this.inputs.keys()];
  }

  /** Runs the model; checks every feed's name, dtype and static dims first. */
  run(
    feeds: Record<string, HostTensor>,
    outputs?: string[],
  ): Promise<Record<string, HostTensor>> {
    return runChecked(
      this.inputs,
      feeds,
      (t) => new ort.Tensor(t.dtype, t.data, t.dims),
      (f) => this.session.run(f, outputs ?? [...this.outputNames]),
      (t) => t.data as HostTensor["data"],
    );
  }

  /** Ends profiling (see `profilePrefix`); ONNX Runtime writes the profile file. */
  endProfiling(): void {
    this.session.endProfiling();
  }

  /** Frees the native session. */
  async release(): Promise<void> {
    await this.session.release();
  }
}
