/**
 * Who produces and who uses each value of a graph: what pattern rules and rewrites need
 * to know that an intermediate value is private to the pattern.
 * @module
 */
import type { Node } from "../onnx/mod.ts";

/** Producers and use counts of a node list; `kept` values (outputs) count as used. */
export class GraphIndex {
  private readonly producers = new Map<string, Node>();
  private readonly counts = new Map<string, number>();
  private readonly readers = new Map<string, Node[]>();

  constructor(nodes: readonly Node[], kept: Iterable<string>) {
    for (const n of nodes) {
      n.outputs.forEach((o) => o && this.producers.set(o, n));
      n.inputs.forEach((x) => x && this.counts.set(x, (this.counts.get(x) ?? 0) + 1));
      for (const x of new Set(n.inputs)) {
        if (x) this.readers.set(x, [...(this.readers.get(x) ?? []), n]);
      }
    }
    for (const k of kept) this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
  }

  /** The node producing `name`, if any (graph inputs and initializers have none). */
  producer(name: string, opType?: string): Node | undefined {
    const p = this.producers.get(name);
    return p && (opType === undefined || p.opType === opType) ? p : undefined;
  }

  /** How many node inputs (and kept outputs) read `name`. */
  uses(name: string): number {
    return this.counts.get(name) ?? 0;
  }

  /** The node reading `name` when exactly one node input (and no kept output) reads it. */
  soleReader(name: string): Node | undefined {
    const r = this.readers.get(name);
    return this.uses(name) === 1 && r?.length === 1 ? r[0] : undefined;
  }
}
