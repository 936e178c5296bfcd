/**
 * The shape of a vector-Jacobian rule and the view of a forward node that rules read.
 * @module
 */
import type { Attribute, Builder, ConstValue, Node } from "../onnx/mod.ts";
import type { GraphIndex } from "./graph_index.ts";
import { AutodiffError } from "./autodiff_error.ts";

/**
 * Returned by a pattern rule for an input whose producer it has differentiated through
 * (the pattern's gradient went to that producer's own input): nothing flows into it.
 */
export const ABSORBED = "absorbed";

/**
 * A lazily built gradient: called by the driver only when that input needs one; null where
 * no gradient flows; {@link ABSORBED} where a pattern rule already took it into account.
 */
export type Grad = (() => string) | null | typeof ABSORBED;

/**
 * A vector-Jacobian product: given the upstream gradient `dy` of output 0 (and
 * `n.dy(i)` for other outputs), returns one entry per node input: a thunk building
 * the gradient, or null where none flows (integer inputs, shapes, indices).
 * The driver un-broadcasts returned gradients to the input's shape.
 */
export type Vjp = (g: Builder, n: NodeView, dy: string) => Grad[];

/** Read access to a forward node during the backward pass. */
export class NodeView {
  constructor(
    readonly node: Node,
    private readonly g: Builder,
    private readonly dys: (string | undefined)[],
    private readonly index?: GraphIndex,
    private readonly gradOfValue?: (name: string) => string | undefined,
  ) {}

  /** The node reading output i when it is of type `opType` and the only reader. */
  soleReader(i: number, opType: string): Node | undefined {
    const r = this.index?.soleReader(this.out(i));
    return r?.opType === opType ? r : undefined;
  }

  /**
   * The gradient that reached value `name` (an output of a node the backward pass has
   * already visited), if any: pattern rules read their consumer's output gradient.
   */
  gradOf(name: string): string | undefined {
    return this.gradOfValue?.(name);
  }

  /**
   * The node producing input i when it is of type `opType` and nothing but this node
   * reads it (so a pattern rule may differentiate through it).
   */
  privateProducer(i: number, opType: string): Node | undefined {
    return this.privateProducerOf(this.in(i), opType);
  }

  /** The node producing value `x` (of type `opType`, if given) when only one input reads x. */
  privateProducerOf(x: string, opType?: string): Node | undefined {
    if (!x || !this.index || this.index.uses(x) !== 1) return undefined;
    return this.index.producer(x, opType);
  }

  /** Whether a gradient reached output i. */
  hasDy(i: number): boolean {
    return this.dys[i] !== undefined;
  }

  /** Name of input i ("" when omitted). */
  in(i: number): string {
    return this.node.inputs[i] ?? "";
  }

  /** Name of output i. */
  out(i: number): string {
    return this.node.outputs[i]!;
  }

  /** Static shape of input i. */
  inShape(i: number): number[] {
    return this.g.shape(this.in(i));
  }

  /** Static shape of output i. */
  outShape(i: number): number[] {
    return this.g.shape(this.out(i));
  }

  /** Constant-folded value of input i (axes, starts, shapes computed at run time). */
  value(i: number): number[] | undefined {
    const name = this.in(i);
    const v: ConstValue | undefined = name ? this.g.table.value(name) : undefined;
    return v?.data;
  }

  /** Constant value of input i, or an error naming the node when it is not static. */
  staticValue(i: number, what: string): number[] {
    const v = this.value(i);
    if (!v) {
      throw new AutodiffError(
        "unsupported",
        `autodiff: ${this.node.opType} node '${this.node.name}': ${what} must be computable ` +
          `from static shapes`,
        { op: this.node.opType, node: this.node.name },
      );
    }
    return v;
  }

  /** Gradient w.r.t. output i; zeros when nothing flowed into it. */
  dy(i: number): string {
    const d = this.dys[i];
    if (d) return d;
    const t = this.g.type(this.out(i));
    return this.g.zeros(t.shape, t.dtype);
  }

  private attr(name: string): Attribute | undefined {
    return this.node.attributes.find((a) => a.name === name);
  }

  attrInt(name: string, def: number): number {
    const a = this.attr(name);
    return a?.type === "int" ? a.i : def;
  }

  attrFloat(name: string, def: number): number {
    const a = this.attr(name);
    return a?.type === "float" ? a.f : def;
  }

  attrInts(name: string, def: number[]): number[] {
    const a = this.attr(name);
    return a?.type === "ints" ? a.ints : def;
  }

  attrFloats(name: string, def: number[]): number[] {
    const a = this.attr(name);
    return a?.type === "floats" ? a.floats : def;
  }

  attrString(name: string, def: string): string {
    const a = this.attr(name);
    return a?.type === "string" ? a.s : def;
  }

  /** Normalises a possibly negative axis against a rank. */
  axis(axis: number, rank: number): number {
    return axis < 0 ? axis + rank : axis;
  }
}
