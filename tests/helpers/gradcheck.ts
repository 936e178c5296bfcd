/**
 * Gradient checks for single operators: central finite differences (float64) or the
 * dot-product test <A x, r> = <x, A^T r> for linear operators (float32 is exact enough).
 * The checked loss is sum_k sum(y_k * R_k) with fixed random R_k, so every output
 * element's gradient is exercised with a different weight.
 */
import { differentiate } from "../../core/autodiff/driver.ts";
import { attr, Builder } from "../../core/onnx/builder.ts";
import { type HostTensor, Session } from "../../core/onnx/runtime.ts";
import { inferShapes } from "../../core/onnx/shape_inference.ts";
import { makeTensor } from "../../core/onnx/tensor_data.ts";
import { type Attribute, DType, type Model, numel, type Tensor } from "../../core/onnx/types.ts";

/** A seeded PRNG (mulberry32) with normal samples (Box-Muller). */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  uniform(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  normal(): number {
    const u = Math.max(this.uniform(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.uniform());
  }
  normals(n: number, scale = 1): number[] {
    return Array.from({ length: n }, () => this.normal() * scale);
  }
}

/** One operator input. */
export interface InputSpec {
  name: string;
  shape: number[];
  /** Differentiate w.r.t. it (float inputs only). */
  wrt?: boolean;
  /** A constant (initializer) with these values, e.g. int64 axes, shapes or indices. */
  values?: number[];
  /** dtype of a constant; default INT64 for constants, the check dtype otherwise. */
  dtype?: DType;
  /** Random values from this range instead of N(0,1). */
  range?: [number, number];
  /** Omitted optional input (empty name). */
  omitted?: boolean;
}

export interface CheckSpec {
  op: string;
  inputs: InputSpec[];
  attrs?: Attribute[];
  nOutputs?: number;
  dtype?: DType;
  /** "fd": central differences; "dot": the adjoint identity (linear in the wrt inputs). */
  mode?: "fd" | "dot";
  seed?: number;
  opset?: number;
}

export interface CheckResult {
  /** Relative L2 error of each wrt gradient (fd), or of the adjoint identity (dot). */
  errors: Record<string, number>;
  /** The largest of them. */
  worst: number;
}

function hostOf(dtype: DType, dims: number[], values: number[]): HostTensor {
  if (dtype === DType.DOUBLE) return { dtype: "float64", dims, data: Float64Array.from(values) };
  return { dtype: "float32", dims, data: Float32Array.from(values) };
}

/** Builds the one-node model with its weighted-sum loss. */
export function buildCheckModel(spec: CheckSpec, rng: Rng): {
  model: Model;
  feeds: Record<string, number[]>;
  shapes: Record<string, number[]>;
} {
  const dtype = spec.dtype ?? DType.DOUBLE;
  const opset = spec.opset ?? 17;
  const initializers: Tensor[] = [];
  const feeds: Record<string, number[]> = {};
  const shapes: Record<string, number[]> = {};
  const graphInputs = [];
  for (const inp of spec.inputs) {
    if (inp.omitted) continue;
    if (inp.values) {
      initializers.push(makeTensor(inp.name, inp.dtype ?? DType.INT64, inp.shape, inp.values));
    } else {
      const [lo, hi] = inp.range ?? [0, 0];
      feeds[inp.name] = inp.range
        ? Array.from({ length: numel(inp.shape) }, () => lo + (hi - lo) * rng.uniform())
        : rng.normals(numel(inp.shape));
      shapes[inp.name] = inp.shape;
      graphInputs.push({ name: inp.name, dtype, shape: inp.shape });
    }
  }
  const nOut = spec.nOutputs ?? 1;
  const outs = Array.from({ length: nOut }, (_, i) => `y${i}`);
  const model: Model = {
    irVersion: 8,
    opsetImports: [{ domain: "", version: opset }],
    producerName: "gradcheck",
    producerVersion: "",
    graph: {
      name: "check",
      nodes: [{
        name: "op",
        opType: spec.op,
        domain: "",
        inputs: spec.inputs.map((i) => (i.omitted ? "" : i.name)),
        outputs: outs,
        attributes: spec.attrs ?? [],
      }],
      initializers,
      inputs: graphInputs,
      outputs: [],
      valueInfo: [],
    },
  };
  const table = inferShapes(model, shapes);
  const g = new Builder(table, opset, "chk");
  const terms = outs.map((y, k) => {
    const t = table.type(y);
    const r = g.constant(t.dtype, t.shape, rng.normals(numel(t.shape)));
    void k;
    return g.one("ReduceSum", [g.mul(y, r)], [attr.int("keepdims", 0)]);
  });
  const loss = g.sum(terms);
  g.nodes.push({
    name: "loss_id",
    opType: "Identity",
    domain: "",
    inputs: [loss],
    outputs: ["loss"],
    attributes: [],
  });
  model.graph.nodes.push(...g.nodes);
  model.graph.initializers.push(...g.initializers);
  model.graph.outputs = [{ name: "loss", dtype, shape: [] }];
  return { model, feeds, shapes };
}

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}

/** Checks the gradient of one operator; returns relative errors per wrt input. */
export async function checkGradient(spec: CheckSpec): Promise<CheckResult> {
  const rng = new Rng(spec.seed ?? 1);
  const dtype = spec.dtype ?? DType.DOUBLE;
  const { model, feeds, shapes } = buildCheckModel(spec, rng);
  const wrt = spec.inputs.filter((i) => i.wrt).map((i) => i.name);
  const { model: gradModel, gradNames } = differentiate(model, { loss: "loss", wrt, shapes });
  const host = (f: Record<string, number[]>) =>
    Object.fromEntries(Object.entries(f).map(([k, v]) => [k, hostOf(dtype, shapes[k]!, v)]));
  const gs = await Session.create(gradModel);
  const res = await gs.run(host(feeds));
  await gs.release();
  const errors: Record<string, number> = {};
  if ((spec.mode ?? "fd") === "dot") {
    // <A x, R> = loss; sum_i <x_i, A_i^T R> must equal it for a linear map.
    const loss = Number(res.loss!.data[0]);
    let adj = 0;
    wrt.forEach((w, i) => {
      const gr = res[gradNames[i]!]!.data as Float64Array;
      feeds[w]!.forEach((x, j) => (adj += x * gr[j]!));
    });
    errors["<Ax,r>"] = Math.abs(loss - adj) / Math.max(Math.abs(loss), 1e-30);
  } else {
    const fwd = await Session.create(model);
    const lossAt = async (f: Record<string, number[]>) =>
      Number((await fwd.run(host(f))).loss!.data[0]);
    const h = dtype === DType.DOUBLE ? 1e-6 : 1e-2;
    for (const [i, w] of wrt.entries()) {
      const x = feeds[w]!;
      const fd = new Float64Array(x.length);
      for (let j = 0; j < x.length; j++) {
        const plus = [...x], minus = [...x];
        plus[j] = x[j]! + h;
        minus[j] = x[j]! - h;
        fd[j] =
          ((await lossAt({ ...feeds, [w]: plus })) - (await lossAt({ ...feeds, [w]: minus }))) /
          (2 * h);
      }
      errors[w] = relErr(res[gradNames[i]!]!.data as Float64Array, fd);
    }
    await fwd.release();
  }
  return { errors, worst: Math.max(...Object.values(errors)) };
}
