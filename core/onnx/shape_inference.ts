/**
 * Static shape inference for ONNX graphs, with constant folding of small tensors.
 *
 * Exported models compute Reshape targets, Slice bounds, Expand shapes and the like at run
 * time from `Shape -> Gather -> Unsqueeze -> Concat` subgraphs. To know every shape before
 * running anything, inference also computes the values of such small integer tensors (and
 * of any other small tensor whose inputs are all known), so downstream rules can read them.
 *
 * The per-operator rules live in `infer/*.ts`; this module joins them into one table and
 * walks graphs. Declared output and value_info shapes are never trusted: exporters fill them
 * with made-up symbolic names.
 *
 * @module
 */
import { defaultOpset, DType, type Model, type Node, numel } from "./types.ts";
import {
  type ConstValue,
  Ctx,
  fmt,
  FOLD_LIMIT,
  type NodeInference,
  roundTo,
  type Rule,
  tensorToConst,
  type ValueType,
} from "./infer/common.ts";
import { ELEMENTWISE_RULES } from "./infer/elementwise.ts";
import { TENSOR_RULES } from "./infer/tensor_ops.ts";
import { LAYOUT_RULES } from "./infer/layout_ops.ts";
import { NN_RULES } from "./infer/nn_ops.ts";
import { REDUCE_RULES } from "./infer/reduce_ops.ts";

export type { ConstValue, NodeInference, ValueType } from "./infer/common.ts";
export { tensorToConst } from "./infer/common.ts";

/** One rule per ai.onnx operator (or operator family sharing a rule). */
const RULES: Record<string, Rule> = {
  ...ELEMENTWISE_RULES,
  ...TENSOR_RULES,
  ...LAYOUT_RULES,
  ...NN_RULES,
  ...REDUCE_RULES,
};

/** Operators the inference knows, sorted (for diagnostics and docs). */
export const SUPPORTED_OPS: readonly string[] = Object.keys(RULES).sort();

/**
 * Infers one node. `inputs[i]` and `values[i]` align with `node.inputs` (undefined for an
 * omitted optional input ""); `opset` is the ai.onnx version. Outputs are folded to values
 * when every present input has a value and each output has at most 4096 elements.
 * @throws Error for unknown operators and for inconsistent shapes, naming the node.
 * @example
 * ```ts ignore
 * const r = inferNode(node, [{ dtype: DType.FLOAT, shape: [2, 3] }], [undefined], 14);
 * ```
 */
export function inferNode(
  node: Node,
  inputs: (ValueType | undefined)[],
  values: (ConstValue | undefined)[],
  opset: number,
): NodeInference {
  const std = node.domain === "" || node.domain === "ai.onnx";
  const rule = std && Object.hasOwn(RULES, node.opType) ? RULES[node.opType] : undefined;
  if (!rule) {
    const op = std ? node.opType : `${node.domain}.${node.opType}`;
    throw new Error(`shape inference: no rule for operator ${op} (node '${node.name}')`);
  }
  const c = new Ctx(node, inputs, values, opset);
  const out = rule(c);
  const n = node.outputs.length;
  if (out.types.length < n) c.fail(`has ${n} outputs but the operator defines ${out.types.length}`);
  const types = out.types.slice(0, n).map((t) => ({ dtype: t.dtype, shape: [...t.shape] }));
  let vals: (ConstValue | undefined)[] = types.map((_, i) => out.values?.[i]);
  const allKnown = node.inputs.every((name, i) => name === "" || values[i] !== undefined);
  if (!out.values && out.fold && allKnown && types.every((t) => numel(t.shape) <= FOLD_LIMIT)) {
    const data = out.fold();
    vals = types.map((t, i) => {
      const d = data[i] ?? [];
      if (d.length !== numel(t.shape)) {
        c.fail(`folding made ${d.length} elements for shape ${fmt(t.shape)}`);
      }
      return { dtype: t.dtype, shape: [...t.shape], data: d.map((x) => roundTo(t.dtype, x)) };
    });
  }
  return { types, values: vals };
}

/** Types of all values seen so far, and the values of the small ones known statically. */
export class ShapeTable {
  /** Every value's dtype and shape, by name. */
  types: Map<string, ValueType> = new Map();
  /** Statically known values (at most 4096 elements each), by name. */
  values: Map<string, ConstValue> = new Map();

  /** The type of `name`. @throws Error `unknown value 'name'` when it was never recorded. */
  type(name: string): ValueType {
    const t = this.types.get(name);
    if (!t) throw new Error(`unknown value '${name}'`);
    return t;
  }

  /** The statically known value of `name`, if any. */
  value(name: string): ConstValue | undefined {
    return this.values.get(name);
  }

  /** Runs {@link inferNode} on `node` with the recorded inputs and records its outputs. */
  addNode(node: Node, opset: number): NodeInference {
    const inputs = node.inputs.map((name) => {
      if (name === "") return undefined;
      if (!this.types.has(name)) {
        throw new Error(
          `shape inference: node '${node.name}' (${node.opType}): unknown value '${name}'`,
        );
      }
      return this.type(name);
    });
    const values = node.inputs.map((name) => (name === "" ? undefined : this.value(name)));
    const inf = inferNode(node, inputs, values, opset);
    node.outputs.forEach((name, i) => {
      if (name === "") return;
      this.types.set(name, inf.types[i]!);
      const v = inf.values[i];
      if (v) this.values.set(name, v);
      else this.values.delete(name);
    });
    return inf;
  }
}

/**
 * A declared input dim that is a real size. A declared 0 counts as unknown: a zero-size
 * graph input is meaningless, and a symbolic dim can decode as 0 (protobufjs reports the
 * proto2 default of an unset `dim_value`).
 */
function knownDim(d: number | string | null): d is number {
  return typeof d === "number" && d > 0;
}

/**
 * Infers every value of `model.graph`, given concrete shapes for graph inputs in `shapes`
 * (inputs whose declared shape is fully numeric may be omitted). Initializers get their
 * type from dims/dtype and are folded when inline and at most 4096 elements.
 * @throws Error when an input has a symbolic or unknown dimension and no entry in `shapes`,
 * when a given shape contradicts a numeric declared one, or when a node cannot be inferred.
 * @example
 * ```ts ignore
 * const table = inferShapes(await loadModel("unet.onnx"), { sample: [1, 4, 64, 64] });
 * console.log(table.type("out_sample").shape);
 * ```
 */
export function inferShapes(model: Model, shapes: Record<string, number[]>): ShapeTable {
  const g = model.graph;
  const opset = defaultOpset(model);
  const table = new ShapeTable();
  for (const t of g.initializers) {
    table.types.set(t.name, { dtype: t.dtype, shape: [...t.dims] });
    if (t.data && t.dtype !== DType.STRING && numel(t.dims) <= FOLD_LIMIT) {
      table.values.set(t.name, tensorToConst(t));
    }
  }
  for (const inp of g.inputs) {
    const given = Object.hasOwn(shapes, inp.name) ? shapes[inp.name] : undefined;
    // Before IR 4, initializers were also listed as inputs; they act as constants then.
    if (!given && table.types.has(inp.name)) continue;
    let shape: number[];
    if (given) {
      if (given.some((d) => !Number.isInteger(d) || d < 0)) {
        throw new Error(`input '${inp.name}': invalid shape ${fmt(given)}`);
      }
      const declared = inp.shape;
      const clash = declared && (declared.length !== given.length ||
        declared.some((d, i) => knownDim(d) && d !== given[i]));
      if (clash) {
        throw new Error(
          `input '${inp.name}': shape ${fmt(given)} contradicts the declared ` +
            `[${declared.map((d) => d ?? "?").join(",")}]`,
        );
      }
      shape = [...given];
    } else {
      if (!inp.shape) {
        throw new Error(`input '${inp.name}' has unknown rank: give --shape ${inp.name}=...`);
      }
      shape = inp.shape.map((d, i) => {
        if (!knownDim(d)) {
          throw new Error(
            `input '${inp.name}' has unknown dimension ${i}: give --shape ${inp.name}=...`,
          );
        }
        return d;
      });
    }
    table.types.set(inp.name, { dtype: inp.dtype, shape });
    table.values.delete(inp.name);
  }
  for (const node of g.nodes) table.addNode(node, opset);
  return table;
}
