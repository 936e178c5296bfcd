/**
 * Reverse-mode differentiation of ONNX graphs into ONNX graphs.
 *
 * The driver walks only the nodes between the differentiated values and the loss, in
 * reverse topological order, asks each node's rule for its vector-Jacobian product, sums
 * gradients that meet at a value and un-broadcasts in one place. The result is a single
 * model with the forward pass and the gradients, in standard ai.onnx operators.
 *
 * @module
 */
import {
  Builder,
  defaultOpset,
  inferShapes,
  isFloat,
  type Model,
  type Node,
  numel,
  type ShapeTable,
  type ValueInfo,
} from "../onnx/mod.ts";
import { canonicalise } from "./canonical.ts";
import { GraphIndex } from "./graph_index.ts";
import { RULES } from "./rules/mod.ts";
import { AutodiffError } from "./autodiff_error.ts";
import { ABSORBED, NodeView } from "./types.ts";

/**
 * Version of the emitted graphs: bumped whenever the same model and options give a different
 * gradient graph (2: issue 16's pattern rules; 3: its attention, Slice-join, Conv and MatMul weight-gradient rules), so that caches of built graphs can key on it.
 */
export const AUTODIFF_VERSION = 3;

/** What to differentiate. */
export interface DifferentiateOptions {
  /** Name of a scalar float value (one element). */
  loss: string;
  /** Graph inputs or initializers to differentiate with respect to, in output order. */
  wrt: string[];
  /** Concrete shapes for graph inputs whose declared shapes are not fully numeric. */
  shapes?: Record<string, number[]>;
  /** Prefix of the gradient outputs; default "grad_". */
  gradPrefix?: string;
  /** Other values to output after the gradients (intermediates a caller wants to see). */
  extraOutputs?: string[];
}

/** Model outputs: `loss`, then `grad_<wrt>` in order; the table has every static shape. */
export interface Differentiated {
  model: Model;
  gradNames: string[];
  table: ShapeTable;
}

/** Stable topological order (Kahn, ties broken by original position). */
function topoOrder(nodes: Node[], available: Set<string>): Node[] {
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => n.outputs.forEach((o) => o && producer.set(o, i)));
  const indeg = nodes.map((n) =>
    new Set(n.inputs.filter((x) => x && !available.has(x) && producer.has(x))).size
  );
  const users = new Map<number, number[]>();
  nodes.forEach((n, i) => {
    for (const p of new Set(n.inputs.filter((x) => x && !available.has(x)))) {
      const j = producer.get(p);
      if (j !== undefined) users.set(j, [...(users.get(j) ?? []), i]);
    }
  });
  // Nodes come out in original order whenever that order is already valid.
  const ready = nodes.map((_, i) => i).filter((i) => indeg[i] === 0);
  const out: Node[] = [];
  while (ready.length > 0) {
    ready.sort((a, b) => a - b);
    const i = ready.shift()!;
    out.push(nodes[i]!);
    for (const u of users.get(i) ?? []) if (--indeg[u]! === 0) ready.push(u);
  }
  if (out.length !== nodes.length) {
    throw new AutodiffError("invalid_request", "graph has a cycle or a missing producer");
  }
  return out;
}

/**
 * Gradient terms that are all zero-Pads of pieces along one axis, disjoint (the Slice rule's
 * gradients of a chunked value, as GEGLU's two halves): one Concat of the pieces, zeros in
 * the gaps, instead of padding each to full size and adding. The Pads, read by nothing
 * else, go into `dropped`. Undefined when the terms are not of that form.
 */
function joinPads(g: Builder, terms: string[], dropped: Set<Node>): string | undefined {
  if (terms.length < 2) return undefined;
  const pads: { node: Node; axis: number; start: number; size: number }[] = [];
  for (const t of terms) {
    const node = g.nodes.find((m) => m.outputs[0] === t);
    if (
      node?.opType !== "Pad" ||
      node.attributes.some((a) => a.type === "string" && a.s !== "constant")
    ) {
      return undefined;
    }
    const [x = "", p = "", v = "", axesIn] = node.inputs;
    const pv = g.table.value(p)?.data, value = v ? g.table.value(v)?.data : [0];
    if (!pv || axesIn || !value || value[0] !== 0) return undefined;
    const r = pv.length / 2,
      axes = [...Array(r).keys()].filter((i) => pv[i] !== 0 || pv[i + r] !== 0);
    if (axes.length !== 1 || pv.some((q) => q < 0)) return undefined;
    pads.push({ node, axis: axes[0]!, start: pv[axes[0]!]!, size: g.shape(x)[axes[0]!]! });
  }
  const axis = pads[0]!.axis, full = g.shape(terms[0]!);
  if (pads.some((q) => q.axis !== axis)) return undefined;
  pads.sort((a, b) => a.start - b.start);
  const readers = new Set(g.nodes.flatMap((m) => m.inputs));
  if (terms.some((t) => readers.has(t))) return undefined;
  const parts: string[] = [];
  let at = 0;
  for (const q of pads) {
    if (q.start < at) return undefined;
    if (q.start > at) {
      const gap = full.map((d, i) => (i === axis ? q.start - at : d));
      parts.push(g.zeros(gap, g.dtype(terms[0]!)));
    }
    parts.push(q.node.inputs[0]!);
    at = q.start + q.size;
  }
  if (at < full[axis]!) {
    parts.push(
      g.zeros(full.map((d, i) => (i === axis ? full[axis]! - at : d)), g.dtype(terms[0]!)),
    );
  }
  pads.forEach((q) => dropped.add(q.node));
  return g.concat(parts, axis);
}

/**
 * Builds one model computing `loss` and d loss / d `wrt`.
 * @throws Error for an unknown or non-scalar loss, an unknown or integer wrt, or an
 *   operator on the differentiated path without a rule (naming operator and node).
 * @example
 * ```ts ignore
 * const { model } = differentiate(await loadModel("f.onnx"), { loss: "loss", wrt: ["x"] });
 * ```
 */
export function differentiate(model: Model, opts: DifferentiateOptions): Differentiated {
  const graph = model.graph;
  const table = inferShapes(model, opts.shapes ?? {});
  const lossType = table.types.get(opts.loss);
  if (!lossType) throw new AutodiffError("invalid_request", `unknown loss '${opts.loss}'`);
  if (!isFloat(lossType.dtype)) {
    throw new AutodiffError("invalid_request", `loss '${opts.loss}' is not a float value`);
  }
  if (numel(lossType.shape) !== 1) {
    throw new AutodiffError(
      "invalid_request",
      `loss '${opts.loss}' is not scalar: shape [${lossType.shape.join(",")}]`,
    );
  }
  if (opts.wrt.length === 0) {
    throw new AutodiffError("invalid_request", "nothing to differentiate with respect to");
  }
  const sources = new Set([
    ...graph.inputs.map((v) => v.name),
    ...graph.initializers.map((t) => t.name),
  ]);
  for (const w of opts.wrt) {
    if (!sources.has(w)) {
      throw new AutodiffError(
        "invalid_request",
        `unknown wrt '${w}': not a graph input or initializer`,
      );
    }
    if (!isFloat(table.type(w).dtype)) {
      throw new AutodiffError("invalid_request", `wrt '${w}' is not a float tensor`);
    }
  }
  const opset = Math.max(defaultOpset(model), 17);
  const g = new Builder(table, opset);
  const kept = [opts.loss, ...graph.outputs.map((o) => o.name), ...(opts.extraOutputs ?? [])];
  const nodes = canonicalise(g, topoOrder(graph.nodes, sources), kept);
  const index = new GraphIndex(nodes, kept);

  // Forward: values that depend on a wrt (float only: integer paths carry no gradient).
  const active = new Set(opts.wrt);
  const onPath: Node[] = [];
  for (const n of nodes) {
    if (!n.inputs.some((x) => active.has(x))) continue;
    const floats = n.outputs.filter((o) => o && isFloat(table.type(o).dtype));
    if (floats.length === 0) continue;
    floats.forEach((o) => active.add(o));
    onPath.push(n);
  }
  // Backward: keep only nodes the loss depends on.
  const needed = new Set([opts.loss]);
  const path: Node[] = [];
  for (let i = onPath.length - 1; i >= 0; i--) {
    const n = onPath[i]!;
    if (!n.outputs.some((o) => needed.has(o))) continue;
    n.inputs.forEach((x) => x && active.has(x) && needed.add(x));
    path.push(n);
  }

  const grads = new Map<string, string[]>();
  const push = (name: string, grad: string) => grads.set(name, [...(grads.get(name) ?? []), grad]);
  const dropped = new Set<Node>();
  const gradOf = (name: string): string | undefined => {
    const gs = grads.get(name);
    if (!gs) return undefined;
    // Two terms as Add: ONNX Runtime fuses Conv + Add (the residual sums of a UNet).
    const total = joinPads(g, gs, dropped) ??
      (gs.length === 2 ? g.add(gs[0]!, gs[1]!) : g.sum(gs));
    grads.set(name, [total]);
    return total;
  };
  push(opts.loss, g.constant(lossType.dtype, lossType.shape, [1]));

  for (const n of path) {
    const sums = g.nodes.length;
    const dys = n.outputs.map((o) => (o ? gradOf(o) : undefined));
    for (const m of g.nodes.slice(sums)) m.name = `${m.name}@sum`;
    if (dys.every((d) => d === undefined)) continue;
    const rule = RULES[n.opType];
    if (!rule || (n.domain !== "" && n.domain !== "ai.onnx")) {
      throw new AutodiffError(
        "missing_rule",
        `autodiff: no gradient rule for operator ${n.opType} (node '${n.name}')`,
        { op: n.opType, node: n.name },
      );
    }
    const first = g.nodes.length;
    const view = new NodeView(n, g, dys, index, (v) => {
      const gs = grads.get(v);
      return gs?.length === 1 ? gs[0] : undefined;
    });
    const results = rule(g, view, view.dy(0));
    n.inputs.forEach((x, i) => {
      if (!x || !active.has(x) || !needed.has(x)) return;
      const thunk = results[i];
      if (thunk === ABSORBED) return;
      if (!thunk) {
        throw new AutodiffError(
          "missing_rule",
          `autodiff: rule for ${n.opType} gives no gradient for input ${i} (node '${n.name}')`,
          { op: n.opType, node: n.name },
        );
      }
      push(x, g.unbroadcast(thunk(), table.type(x).shape));
    });
    // Backward nodes are named after the forward operator they differentiate (profiles).
    for (const m of g.nodes.slice(first)) m.name = `${m.name}@${n.opType}`;
  }

  const prefix = opts.gradPrefix ?? "grad_";
  const gradNames = opts.wrt.map((w) => `${prefix}${w}`);
  const outputs: ValueInfo[] = [{ name: opts.loss, dtype: lossType.dtype, shape: lossType.shape }];
  opts.wrt.forEach((w, i) => {
    const name = gradNames[i]!;
    if (table.types.has(name)) {
      throw new AutodiffError(
        "invalid_request",
        `gradient name '${name}' is already used in the graph`,
      );
    }
    const t = table.type(w);
    const grad = gradOf(w) ?? g.zeros(t.shape, t.dtype);
    g.nodes.push({
      name: `${name}_identity`,
      opType: "Identity",
      domain: "",
      inputs: [grad],
      outputs: [name],
      attributes: [],
    });
    table.types.set(name, t);
    outputs.push({ name, dtype: t.dtype, shape: t.shape });
  });

  for (const name of opts.extraOutputs ?? []) {
    const t = table.types.get(name);
    if (!t) throw new AutodiffError("invalid_request", `unknown extra output '${name}'`);
    outputs.push({ name, dtype: t.dtype, shape: t.shape });
  }

  const inputs: ValueInfo[] = graph.inputs.map((v) => ({ ...v, shape: table.type(v.name).shape }));
  const out: Model = {
    ...model,
    opsetImports: [
      ...model.opsetImports.filter((o) => o.domain !== "" && o.domain !== "ai.onnx"),
      { domain: "", version: opset },
    ],
    irVersion: Math.max(model.irVersion, 8),
    graph: {
      ...graph,
      nodes: [...nodes, ...g.nodes.filter((m) => !dropped.has(m))],
      initializers: [...graph.initializers, ...g.initializers],
      inputs,
      outputs,
      valueInfo: [],
    },
  };
  return { model: out, gradNames, table };
}
