/**
 * Inlining one model into a graph under construction, so that several models (text
 * encoder, UNet, loss) become one graph that the autodiff can differentiate end to end.
 * Weights stay where they are: inline tensors are shared, external ones keep their
 * references (rebased to the host model's directory).
 *
 * @module
 */
import { isAbsolute, join, relative } from "node:path";
import { Builder } from "./builder.ts";
import { inferShapes, tensorToConst } from "./shape_inference.ts";
import type { Model, Node, Tensor, ValueInfo } from "./types.ts";

/**
 * Copies `model`'s nodes and initializers into `g`, renaming every value with `prefix`,
 * and binding the model's graph inputs to existing values of `g`.
 * @param bind model input name → value in `g`
 * @param baseDir directory of the host model (external data locations are rebased to it)
 * @returns model output name → value in `g`
 * @example
 * ```ts ignore
 * const { last_hidden_state } = inlineModel(g, textEncoder, { inputs_embeds: e }, "te/");
 * ```
 */
export function inlineModel(
  g: Builder,
  model: Model,
  bind: Record<string, string>,
  prefix: string,
  baseDir?: string,
): Record<string, string> {
  const graph = model.graph;
  const rename = new Map<string, string>(Object.entries(bind));
  const inits = new Set(graph.initializers.map((t) => t.name));
  for (const v of graph.inputs) {
    if (!inits.has(v.name) && !rename.has(v.name)) {
      throw new Error(`inlineModel: input '${v.name}' of the inlined model is not bound`);
    }
  }
  const name = (x: string): string => {
    if (!x) return x;
    let r = rename.get(x);
    if (!r) {
      r = `${prefix}${x}`;
      rename.set(x, r);
    }
    return r;
  };
  for (const t of graph.initializers) {
    if (bind[t.name]) continue;
    const copy: Tensor = { ...t, name: name(t.name) };
    if (t.external && model.baseDir && baseDir) {
      const abs = isAbsolute(t.external.location)
        ? t.external.location
        : join(model.baseDir, t.external.location);
      copy.external = { ...t.external, location: relative(baseDir, abs) };
    }
    g.initializers.push(copy);
    g.table.types.set(copy.name, { dtype: t.dtype, shape: [...t.dims] });
    if (t.data && t.dims.reduce((a, b) => a * b, 1) <= 4096) {
      g.table.values.set(copy.name, tensorToConst(copy));
    }
  }
  for (const n of graph.nodes) {
    const node: Node = {
      ...n,
      name: `${prefix}${n.name}`,
      inputs: n.inputs.map(name),
      outputs: n.outputs.map(name),
    };
    g.table.addNode(node, g.opset);
    g.nodes.push(node);
  }
  return Object.fromEntries(graph.outputs.map((o) => [o.name, name(o.name)]));
}

/** A graph under construction: a builder over declared inputs, finished into a model. */
export interface GraphDraft {
  g: Builder;
  /** Declares the outputs and returns the model. */
  finish(outputs: string[]): Model;
}

/**
 * Starts a new model with the given float/int inputs (static shapes).
 * @example
 * ```ts ignore
 * const { g, finish } = startGraph([{ name: "x", dtype: DType.FLOAT, shape: [2, 3] }]);
 * const model = finish([g.exp("x")]);
 * ```
 */
export function startGraph(inputs: ValueInfo[], opset = 17, baseDir?: string): GraphDraft {
  const model: Model = {
    irVersion: 8,
    opsetImports: [{ domain: "", version: opset }],
    producerName: "dreamdistribution",
    producerVersion: "0.1.0",
    graph: { name: "main", nodes: [], initializers: [], inputs, outputs: [], valueInfo: [] },
    ...(baseDir ? { baseDir } : {}),
  };
  const shapes = Object.fromEntries(inputs.map((v) => [v.name, v.shape as number[]]));
  const g = new Builder(inferShapes(model, shapes), opset);
  return {
    g,
    finish(outputs: string[]): Model {
      const nodes = [...g.nodes];
      return {
        ...model,
        graph: {
          ...model.graph,
          nodes,
          initializers: [...g.initializers],
          outputs: outputs.map((name) => ({ name, dtype: g.dtype(name), shape: g.shape(name) })),
        },
      };
    },
  };
}
