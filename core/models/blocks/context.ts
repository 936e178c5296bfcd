/**
 * What every block builder receives: the graph builder and the checkpoint's tensors,
 * bound by their diffusers/transformers names as external initializers (never copied),
 * under a name prefix (`down_blocks.0.resnets.1.`). Half-precision weights get one Cast
 * to float32 in the graph, so every block computes in float32.
 *
 * @module
 */
import {
  type Builder,
  DType,
  type Model,
  startGraph,
  type Tensor,
  type ValueInfo,
} from "../../onnx/mod.ts";

/** The tensors of one model component, as external initializers. */
export interface WeightSource {
  /** The file (or shard set) for error messages, e.g. `unet/diffusion_pytorch_model.safetensors`. */
  readonly label: string;
  /** The initializer for tensor `name` (named `name`), or undefined when absent. */
  tensor(name: string): Tensor | undefined;
}

/** Binds tensors into one graph: each at most once, cast to float32 where needed. */
export class Weights {
  private readonly bound = new Map<string, string>();

  /**
   * @param g the builder of the graph being built
   * @param source where the component's tensors are
   */
  constructor(readonly g: Builder, readonly source: WeightSource) {}

  /** True when the checkpoint has tensor `name`. */
  has(name: string): boolean {
    return this.source.tensor(name) !== undefined;
  }

  /** The shape of tensor `name` as stored. @throws Error naming the file when it is absent. */
  shape(name: string): number[] {
    return [...this.raw(name).dims];
  }

  /**
   * The float32 value of tensor `name`, declared as an external initializer on first use.
   * @param shape the shape the config implies; a stored tensor of another shape is an error
   * @throws Error naming the file and tensor when it is absent, has another shape or is not float.
   */
  param(name: string, shape?: readonly number[]): string {
    const t = this.raw(name);
    if (shape && (t.dims.length !== shape.length || t.dims.some((d, i) => d !== shape[i]))) {
      throw new Error(
        `${this.source.label}: tensor '${name}' has shape [${t.dims}], the config implies [${shape}]`,
      );
    }
    const hit = this.bound.get(name);
    if (hit) return hit;
    if (
      !(t.dtype === DType.FLOAT || t.dtype === DType.FLOAT16 || t.dtype === DType.BFLOAT16 ||
        t.dtype === DType.DOUBLE)
    ) {
      throw new Error(
        `${this.source.label}: tensor '${name}' has dtype ${DType[t.dtype]}, expected a float type`,
      );
    }
    if (this.g.table.types.has(t.name)) {
      throw new Error(`weights: tensor name '${t.name}' clashes with a graph value`);
    }
    this.g.initializers.push(t);
    this.g.table.types.set(t.name, { dtype: t.dtype, shape: [...t.dims] });
    const v = t.dtype === DType.FLOAT ? t.name : this.g.cast(t.name, DType.FLOAT);
    this.bound.set(name, v);
    return v;
  }

  private raw(name: string): Tensor {
    const t = this.source.tensor(name);
    if (!t) throw new Error(`${this.source.label}: missing tensor '${name}'`);
    return t;
  }
}

/** A builder plus the tensors under one module path, as block builders see them. */
export class BlockContext {
  /**
   * @param g the graph builder
   * @param weights the bound tensors of the component
   * @param prefix module path of this block, ending in "." unless empty
   */
  constructor(readonly g: Builder, readonly weights: Weights, readonly prefix = "") {}

  /** The context of child module `name` (`ctx.at("resnets.0")`). */
  at(name: string): BlockContext {
    return new BlockContext(this.g, this.weights, `${this.prefix}${name}.`);
  }

  /** True when tensor `name` exists under this module. */
  has(name: string): boolean {
    return this.weights.has(this.prefix + name);
  }

  /** The stored shape of tensor `name` under this module. */
  shape(name: string): number[] {
    return this.weights.shape(this.prefix + name);
  }

  /** The float32 value of tensor `name` under this module (see {@link Weights.param}). */
  param(name: string, shape?: readonly number[]): string {
    return this.weights.param(this.prefix + name, shape);
  }
}

/** A model graph under construction, with its inputs' batch axis made symbolic at the end. */
export interface ModelDraft {
  /** The root block context (empty prefix). */
  ctx: BlockContext;
  /** Names the outputs and returns the model: dim 0 of inputs and outputs becomes "batch". */
  finish(outputs: Record<string, string>): Model;
}

/**
 * Starts a component graph (opset 17). Shape inference runs with batch 1 (the builder's
 * table needs numbers); the finished model declares dim 0 of every input and output as
 * the symbolic "batch", so blocks must never bake the batch size into the graph.
 * @param inputs inputs with their per-example shapes (without the batch axis)
 * @param source the component's tensors
 * @param baseDir the directory external tensor locations resolve against
 * @example
 * ```ts ignore
 * const { ctx, finish } = startModelGraph([{ name: "x", dtype: DType.FLOAT, shape: [4, 8, 8] }], src, dir);
 * const model = finish({ y: ctx.g.sigmoid("x") });
 * ```
 */
export function startModelGraph(
  inputs: ValueInfo[],
  source: WeightSource,
  baseDir: string,
): ModelDraft {
  const one = inputs.map((v) => ({ ...v, shape: [1, ...(v.shape ?? [])] }));
  const { g, finish } = startGraph(one, 17, baseDir);
  const ctx = new BlockContext(g, new Weights(g, source));
  const batch = (v: ValueInfo): ValueInfo => ({
    ...v,
    shape: v.shape ? ["batch", ...v.shape.slice(1)] : null,
  });
  return {
    ctx,
    finish(outputs: Record<string, string>): Model {
      const names = Object.entries(outputs).map(([name, value]) => g.name(value, name));
      const model = finish(names);
      return {
        ...model,
        graph: {
          ...model.graph,
          inputs: model.graph.inputs.map(batch),
          outputs: model.graph.outputs.map(batch),
        },
      };
    },
  };
}
