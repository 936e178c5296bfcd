/** Finite-difference checks of whole small graphs (pattern rules span several nodes). */
import { differentiate } from "../../../core/autodiff/driver.ts";
import type { Builder } from "../../../core/onnx/builder.ts";
import { startGraph } from "../../../core/onnx/compose.ts";
import { Session } from "../../../core/onnx/runtime.ts";
import { DType, type Model } from "../../../core/onnx/types.ts";
import { Rng } from "../../helpers/gradcheck.ts";

/** A one-input graph: `body` maps x to a value, summed against fixed weights into "loss". */
export function lossGraph(
  shape: number[],
  dtype: DType,
  body: (g: Builder, x: string) => string,
): Model {
  const { g, finish } = startGraph([{ name: "x", dtype, shape }]);
  const y = body(g, "x");
  const w = g.constant(
    dtype,
    g.shape(y),
    new Rng(7).normals(g.shape(y).reduce((a, b) => a * b, 1)),
  );
  g.name(g.reduceSum(g.mul(y, w), [...g.shape(y).keys()], false), "loss");
  return finish(["loss"]);
}

const host = (dtype: DType, dims: number[], v: number[]) =>
  dtype === DType.DOUBLE
    ? { dtype: "float64" as const, dims, data: Float64Array.from(v) }
    : { dtype: "float32" as const, dims, data: Float32Array.from(v) };

/** d loss / d x from the differentiated graph, and the differentiated model. */
export async function gradient(
  model: Model,
  x: number[],
): Promise<{ grad: number[]; model: Model }> {
  const inp = model.graph.inputs[0]!;
  const d = differentiate(model, { loss: "loss", wrt: ["x"] });
  const s = await Session.create(d.model);
  const r = await s.run({ x: host(inp.dtype, inp.shape as number[], x) });
  await s.release();
  return { grad: Array.from(r.grad_x!.data as Float64Array), model: d.model };
}

/** Central differences of the loss (step h: 1e-6 suits float64, 1e-2 float32). */
export async function finiteDifferences(model: Model, x: number[], h = 1e-6): Promise<number[]> {
  const inp = model.graph.inputs[0]!;
  // "basic": ONNX Runtime's QuickGelu fusion would match x Sigmoid(x) in float64, which
  // it has no kernel for.
  const s = await Session.create(model, { optimization: "basic" });
  const at = async (v: number[]) =>
    Number((await s.run({ x: host(inp.dtype, inp.shape as number[], v) })).loss!.data[0]);
  const out: number[] = [];
  for (let j = 0; j < x.length; j++) {
    const p = [...x], m = [...x];
    p[j]! += h;
    m[j]! -= h;
    out.push(((await at(p)) - (await at(m))) / (2 * h));
  }
  await s.release();
  return out;
}

/** Relative L2 error of a against b. */
export function relErr(a: number[], b: number[]): number {
  let num = 0, den = 0;
  a.forEach((v, i) => {
    num += (v - b[i]!) ** 2;
    den += b[i]! ** 2;
  });
  return Math.sqrt(num / Math.max(den, 1e-300));
}

/** The operator types of the nodes the backward pass emitted for forward operator `op`. */
export function emittedFor(model: Model, op: string): string[] {
  return model.graph.nodes.filter((n) => n.name.endsWith(`@${op}`)).map((n) => n.opType);
}
