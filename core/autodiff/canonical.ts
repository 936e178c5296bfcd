/**
 * Rewrites of the forward graph before differentiation (DESIGN §5, COVERAGE.md "pattern
 * rules"). Each replaces nodes by standard operators computing the same values, so that
 * the backward pass can reuse what the forward pass already computed:
 *
 * - A layer norm written out by exporters, Div(x − mean(x), sqrt(mean((x − mean(x))²) + eps))
 *   over trailing axes, becomes one LayerNormalization (scale 1, no bias). ONNX Runtime fuses
 *   that chain into the same operator when nothing else reads its intermediates, which a
 *   backward pass otherwise does.
 * - A float32 LayerNormalization also outputs its Mean and InvStdDev, for its gradient rule.
 * - A float32 InstanceNormalization with scale 1 and bias 0 (how group norms are exported)
 *   becomes a LayerNormalization over axes 2.., whose output is then xhat itself and whose
 *   Mean and InvStdDev the backward pass reads instead of recomputing them.
 *
 * @module
 */
import { type Builder, DType, type Node } from "../onnx/mod.ts";
import { GraphIndex } from "./graph_index.ts";

const intAttr = (n: Node, name: string, def: number): number => {
  const a = n.attributes.find((x) => x.name === name);
  return a?.type === "int" ? a.i : def;
};

/** A keepdims ReduceMean's axes over `x`, normalised, when they are the trailing ones. */
function trailingMeanAxes(g: Builder, n: Node | undefined, x: string): number[] | null {
  if (!n || n.opType !== "ReduceMean" || n.inputs[0] !== x) return null;
  if (intAttr(n, "keepdims", 1) !== 1) return null;
  const a = n.attributes.find((t) => t.name === "axes");
  const axes = a?.type === "ints" ? a.ints : n.inputs[1] ? g.table.value(n.inputs[1])?.data : [];
  const rank = g.shape(x).length;
  if (!axes || axes.length === 0) return null;
  const norm = axes.map((v) => (v < 0 ? v + rank : v)).sort((p, q) => p - q);
  return norm.every((v, i) => v === rank - norm.length + i) ? norm : null;
}

/** The single value of a constant scalar input, if it is one. */
function scalarOf(g: Builder, name: string): number | undefined {
  const v = g.table.value(name);
  return v && v.data.length === 1 ? v.data[0] : undefined;
}

/** A decomposed layer norm ending in `div`: the nodes it replaces and the new node. */
function layerNorm(g: Builder, ix: GraphIndex, div: Node): { drop: Node[]; node: Node } | null {
  if (div.opType !== "Div") return null;
  const [d = "", std = ""] = div.inputs;
  const sub = ix.producer(d, "Sub"), sqrt = ix.producer(std, "Sqrt");
  if (!sub || !sqrt) return null;
  const [x = "", m = ""] = sub.inputs;
  const mean1 = ix.producer(m), axes = trailingMeanAxes(g, mean1, x);
  const add = ix.producer(sqrt.inputs[0]!, "Add");
  if (!axes || !add) return null;
  const epsAt = add.inputs.findIndex((i) => scalarOf(g, i) !== undefined);
  const v = add.inputs[1 - epsAt] ?? "";
  const mean2 = ix.producer(v);
  const sq = ix.producer(mean2?.inputs[0] ?? "");
  if (epsAt < 0 || !sq || trailingMeanAxes(g, mean2, sq.outputs[0]!)?.length !== axes.length) {
    return null;
  }
  const square = (sq.opType === "Pow" && sq.inputs[0] === d && scalarOf(g, sq.inputs[1]!) === 2) ||
    (sq.opType === "Mul" && sq.inputs[0] === d && sq.inputs[1] === d);
  const dUses = sq.opType === "Mul" ? 3 : 2;
  const private1 = [m, sq.outputs[0]!, v, add.outputs[0]!, std].every((o) => ix.uses(o) === 1);
  if (!square || !private1 || ix.uses(d) !== dUses) return null;
  const dtype = g.dtype(x);
  if (dtype !== DType.FLOAT && dtype !== DType.DOUBLE) return null;
  const normShape = g.shape(x).slice(axes[0]);
  const ones = g.constant(
    dtype,
    normShape,
    new Array(normShape.reduce((a, b) => a * b, 1)).fill(1),
  );
  // ONNX Runtime has no double kernel with the statistics outputs.
  const stats = dtype === DType.FLOAT ? [g.fresh("ln_mean"), g.fresh("ln_rstd")] : [];
  const node: Node = {
    name: `${div.name}/layer_norm`,
    opType: "LayerNormalization",
    domain: "",
    inputs: [x, ones],
    outputs: [div.outputs[0]!, ...stats],
    attributes: [
      { name: "axis", type: "int", i: axes[0]! },
      { name: "epsilon", type: "float", f: scalarOf(g, add.inputs[epsAt]!)! },
    ],
  };
  return { drop: [mean1!, sub, sq, mean2!, add, sqrt, div], node };
}

/** A float32 LayerNormalization with its Mean and InvStdDev outputs named. */
function withStats(g: Builder, n: Node): Node | null {
  if (n.opType !== "LayerNormalization" || g.dtype(n.inputs[0]!) !== DType.FLOAT) return null;
  if (intAttr(n, "stash_type", DType.FLOAT) !== DType.FLOAT) return null;
  if (n.outputs[1] && n.outputs[2]) return null;
  const outputs = [
    n.outputs[0]!,
    n.outputs[1] || g.fresh("ln_mean"),
    n.outputs[2] || g.fresh("ln_rstd"),
  ];
  return { ...n, outputs };
}

/** An InstanceNormalization with constant scale 1 and bias 0 as a LayerNormalization. */
function instanceNorm(g: Builder, n: Node): Node | null {
  const [x = "", scale = "", bias = ""] = n.inputs;
  if (n.opType !== "InstanceNormalization" || g.dtype(x) !== DType.FLOAT) return null;
  const unit = g.table.value(scale)?.data.every((v) => v === 1);
  if (!unit || !g.table.value(bias)?.data.every((v) => v === 0)) return null;
  const shape = g.shape(x).slice(2);
  const ones = g.constant(DType.FLOAT, shape, new Array(shape.reduce((a, b) => a * b, 1)).fill(1));
  const eps = n.attributes.find((a) => a.name === "epsilon");
  return {
    name: `${n.name}/layer_norm`,
    opType: "LayerNormalization",
    domain: "",
    inputs: [x, ones],
    outputs: [n.outputs[0]!, g.fresh("ln_mean"), g.fresh("ln_rstd")],
    attributes: [
      { name: "axis", type: "int", i: 2 },
      { name: "epsilon", type: "float", f: eps?.type === "float" ? eps.f : 1e-5 },
    ],
  };
}

/**
 * The forward nodes with the rewrites above applied, in the same order; new values are
 * recorded in the builder's shape table.
 * @param kept values read from outside the nodes (graph outputs, the loss)
 * @example
 * ```ts ignore
 * const nodes = canonicalise(g, model.graph.nodes, ["loss"]);
 * ```
 */
export function canonicalise(g: Builder, nodes: readonly Node[], kept: Iterable<string>): Node[] {
  const ix = new GraphIndex(nodes, kept);
  const dropped = new Set<Node>();
  const replaced = new Map<Node, Node>();
  for (const n of nodes) {
    const ln = layerNorm(g, ix, n);
    if (ln && ln.drop.every((d) => !dropped.has(d))) {
      ln.drop.forEach((d) => dropped.add(d));
      replaced.set(n, ln.node);
    }
    const other = withStats(g, n) ?? instanceNorm(g, n);
    if (other) replaced.set(n, other);
  }
  const out: Node[] = [];
  for (const n of nodes) {
    const r = replaced.get(n);
    if (r) {
      g.table.addNode(r, g.opset);
      out.push(r);
    } else if (!dropped.has(n)) out.push(n);
  }
  return out;
}
