/**
 * Rows computed once: a graph that tiles a batch S times along axis 0 (the train step
 * pairs each of B images with each of S prompt samples, so the UNet sees every image S
 * times) computes every value that depends only on the tiled rows at the untiled batch,
 * and tiles it where it meets a value that differs between the copies (the UNet's first
 * cross-attention). The result is the same values, by the same kernels, on 1/S of the rows.
 *
 * A value is tiled when its data, flattened, is S copies of a base value's (`x` of shape
 * [n, ...] tiled as Reshape(Expand(Reshape(x, [1, n, ...]), [S, n, ...]), [S·n, ...]), or a
 * Concat along axis 0 of copies of one value). An operator is computed on bases when it
 * keeps axis 0 apart (elementwise, Conv, MatMul by a weight, normalisations, reshapes that
 * keep a multiple of S rows, slices and reductions off axis 0); anything else reads the
 * tiled value, emitted once, where it first needs it.
 *
 * @module
 */
import { Builder } from "./builder.ts";
import { inferShapes } from "./shape_inference.ts";
import type { Attribute, Model, Node } from "./types.ts";

/** Operators applied position by position (broadcasting); axis 0 stays the batch. */
const ELEMENTWISE = new Set(
  ("Add Sub Mul Div Pow Where Max Min Equal Less Greater Sqrt Exp Log Erf Tanh Sigmoid Neg Abs " +
    "Reciprocal Sin Cos Relu Softplus Cast Identity Clip Sign Not And Or Floor Ceil").split(" "),
);
/** Operators whose first input carries the batch and whose other inputs are weights. */
const PER_ROW = new Set(["Conv", "ConvTranspose", "InstanceNormalization", "Resize"]);
const RESHAPES = new Set(["Reshape", "Flatten", "Squeeze", "Unsqueeze"]);
const REDUCES = new Set(["ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd"]);

interface Tiled {
  base: string;
  S: number;
}

const intAttr = (n: Node, name: string, def: number): number => {
  const a = n.attributes.find((x) => x.name === name);
  return a?.type === "int" ? a.i : def;
};

/**
 * The model with rows that repeat computed once (see the module doc); the same model
 * when nothing is tiled.
 * @example
 * ```ts ignore
 * const lean = shareTiledRows(model); // same outputs, fewer rows through the UNet prefix
 * ```
 */
export function shareTiledRows(model: Model): Model {
  const table = inferShapes(model, {});
  const opset = model.opsetImports.find((o) => o.domain === "" || o.domain === "ai.onnx")
    ?.version ?? 17;
  const g = new Builder(table, opset, "tiled");
  const tiled = new Map<string, Tiled>();
  const roots = new Map<string, Node>();
  const free = new Set(model.graph.initializers.map((t) => t.name));
  const shape = (x: string) => g.shape(x);
  const out: Node[] = [];
  const emitted = new Set<string>();
  const producer = new Map<string, Node>();

  /** Emits the tiled value `v` itself (once), from its base. */
  const need = (v: string): void => {
    const t = tiled.get(v);
    if (!t || emitted.has(v)) return;
    emitted.add(v);
    const root = roots.get(v);
    if (root) {
      root.inputs.forEach(need);
      out.push(root);
      return;
    }
    const bs = shape(t.base);
    const one = g.reshape(t.base, [1, ...bs]);
    const rep = g.expand(one, [t.S, ...bs]);
    const node: Node = {
      name: `${v}/tile`,
      opType: "Reshape",
      domain: "",
      inputs: [rep, g.ints(shape(v))],
      outputs: [v],
      attributes: [],
    };
    out.push(...g.nodes.splice(0), node);
  };

  for (const n of model.graph.nodes) {
    n.outputs.forEach((o) => producer.set(o, n));
    const inputs = n.inputs.filter((x) => x);
    if (inputs.length > 0 && inputs.every((x) => free.has(x)) || n.opType === "Constant") {
      n.outputs.forEach((o) => free.add(o));
    }
    const root = tileRoot(g, n, producer, tiled);
    if (root) {
      tiled.set(n.outputs[0]!, root);
      roots.set(n.outputs[0]!, n);
      continue;
    }
    const hoisted = onBases(g, n, tiled, free);
    if (hoisted) {
      out.push(...g.nodes.splice(0));
      continue;
    }
    n.inputs.forEach(need);
    out.push(n);
  }
  model.graph.outputs.forEach((o) => need(o.name));
  if (tiled.size === 0) return model;
  return {
    ...model,
    graph: {
      ...model.graph,
      nodes: out,
      initializers: [...model.graph.initializers, ...g.initializers],
      valueInfo: [],
    },
  };
}

/**
 * `n` as a tiling: Reshape(Expand(Reshape(x, [1, ...s]), [S, ...s]), [S·s0, ...]), or a
 * Concat on axis 0 of values that are all x or tilings of x.
 */
function tileRoot(
  g: Builder,
  n: Node,
  producer: Map<string, Node>,
  tiled: Map<string, Tiled>,
): Tiled | undefined {
  if (n.opType === "Reshape") {
    const ex = producer.get(n.inputs[0]!);
    const r1 = ex?.opType === "Expand" ? producer.get(ex.inputs[0]!) : undefined;
    if (!ex || r1?.opType !== "Reshape") return undefined;
    const x = r1.inputs[0]!, xs = g.shape(x), one = g.shape(r1.outputs[0]!);
    const rep = g.shape(ex.outputs[0]!), o = g.shape(n.outputs[0]!);
    const same = (a: number[], b: number[]) =>
      a.length === b.length && a.every((d, i) => d === b[i]);
    if (xs.length === 0 || !same(one, [1, ...xs]) || !same(rep.slice(1), xs)) return undefined;
    if (!same(o, [rep[0]! * xs[0]!, ...xs.slice(1)]) || rep[0]! < 2) return undefined;
    return { base: x, S: rep[0]! };
  }
  if (n.opType === "Concat" && intAttr(n, "axis", 0) === 0) {
    const bases = n.inputs.map((x) => tiled.get(x)?.base ?? x);
    const base = bases[0]!;
    if (bases.some((b) => b !== base)) return undefined;
    const S = n.inputs.reduce((a, x) => a + (tiled.get(x)?.S ?? 1), 0);
    return { base, S };
  }
  return undefined;
}

/** Axes of a node (attribute or constant input `at`), normalised to `rank`. */
function axesOf(g: Builder, n: Node, at: number, rank: number): number[] | undefined {
  const a = n.attributes.find((x) => x.name === "axes");
  const v = a?.type === "ints" ? a.ints : n.inputs[at] ? g.table.value(n.inputs[at]!)?.data : [];
  return v?.map((x) => (x < 0 ? x + rank : x));
}

/** Whether `n` can run on its inputs' bases; if so, emits it into `g` and records its outputs. */
function onBases(g: Builder, n: Node, tiled: Map<string, Tiled>, free: Set<string>): boolean {
  const ins = n.inputs.map((x) => (x ? tiled.get(x) : undefined));
  const first = ins.find((t) => t);
  if (!first || n.domain !== "" && n.domain !== "ai.onnx") return false;
  const S = first.S;
  if (ins.some((t, i) => t && t.S !== S || !t && n.inputs[i] && !free.has(n.inputs[i]!))) {
    return false;
  }
  const out0 = g.shape(n.outputs[0]!), rank = out0.length;
  if (rank === 0 || out0[0]! % S !== 0) return false;
  const x = n.inputs[0]!, xt = ins[0];
  const rowsOf = (v: string) => g.shape(v)[0];
  const op = n.opType;
  let ok = false;
  let inputs = n.inputs.map((v, i) => ins[i]?.base ?? v);
  if (ELEMENTWISE.has(op)) {
    ok = n.inputs.every((v, i) => {
      if (!v) return true;
      const s = g.shape(v);
      return ins[i] ? s.length === rank && s[0] === out0[0] : s.length < rank || s[0] === 1;
    });
  } else if (PER_ROW.has(op)) {
    ok = !!xt && ins.every((t, i) => i === 0 || !t) &&
      (op !== "Resize" || (!n.inputs[3] && g.table.value(n.inputs[2] ?? "")?.data[0] === 1));
  } else if (op === "MatMul" || op === "Gemm") {
    const b = g.shape(n.inputs[1]!);
    ok = !!xt &&
      (op === "MatMul"
        ? (!ins[1] &&
          (b.length <= 2 || b.slice(0, -2).every((d) => d === 1) && b.length <= rank)) ||
          (!!ins[1] && b.length === rank && rank >= 3 && b[0] === rowsOf(x))
        : intAttr(n, "transA", 0) === 0 && !ins[1] && !ins[2]);
  } else if (RESHAPES.has(op)) {
    ok = !!xt;
    if (ok) {
      const to = g.ints([out0[0]! / S, ...out0.slice(1)]);
      return emit(g, n, "Reshape", [xt!.base, to], [], S, tiled);
    }
  } else if (op === "Expand") {
    ok = !!xt && g.shape(x).length === rank && rowsOf(x) === out0[0];
    inputs = [xt?.base ?? x, g.ints([out0[0]! / S, ...out0.slice(1)])];
  } else if (op === "Transpose") {
    const p = n.attributes.find((a) => a.name === "perm");
    ok = p?.type === "ints" && p.ints[0] === 0;
  } else if (op === "Softmax" || op === "LogSoftmax" || op === "LayerNormalization") {
    const axis = intAttr(n, "axis", -1);
    ok = !!xt && ins.every((t, i) => i === 0 || !t) && (axis < 0 ? axis + rank : axis) > 0;
  } else if (REDUCES.has(op)) {
    const axes = axesOf(g, n, 1, g.shape(x).length);
    ok = !!axes && axes.length > 0 && !axes.includes(0) && !ins[1];
  } else if (op === "Split" || op === "Concat" || op === "Gather") {
    const r = g.shape(x).length, axis = intAttr(n, "axis", 0);
    ok = (axis < 0 ? axis + r : axis) > 0 &&
      (op === "Concat" ? ins.every((t) => t) : ins.every((t, i) => i === 0 || !t));
  } else if (op === "Slice") {
    const axes = axesOf(g, n, 3, rank);
    ok = !!axes && axes.length > 0 && !axes.includes(0) && ins.every((t, i) => i === 0 || !t);
  }
  if (!ok) return false;
  return emit(g, n, op, inputs, n.attributes, S, tiled);
}

function emit(
  g: Builder,
  n: Node,
  op: string,
  inputs: string[],
  attributes: Attribute[],
  S: number,
  tiled: Map<string, Tiled>,
): boolean {
  const outs = g.op(op, inputs, attributes, n.outputs.length);
  g.nodes[g.nodes.length - 1]!.name = `${n.name}/rows`;
  n.outputs.forEach((o, i) => o && tiled.set(o, { base: outs[i]!, S }));
  return true;
}
