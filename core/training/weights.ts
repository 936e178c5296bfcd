/**
 * A model's trainable weights held in one flat float32 vector (views per tensor), so one
 * AdamW (core/optim) updates them all, with an exponential moving average for sampling.
 * Read from and written to safetensors in the diffusers layout.
 *
 * @module
 */
import { readSafetensors, writeSafetensors } from "../artifacts/mod.ts";
import { initTensor, type Shapes } from "../models/mod.ts";
import type { Rng } from "../random.ts";

/** Named float32 tensors backed by one flat vector. */
export class WeightSet {
  readonly flat: Float32Array;
  readonly views = new Map<string, Float32Array>();
  readonly shapes: Shapes;

  constructor(shapes: Shapes, flat?: Float32Array) {
    this.shapes = new Map([...shapes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    const total = [...this.shapes.values()].reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0);
    this.flat = flat ?? new Float32Array(total);
    if (this.flat.length !== total) throw new Error(`WeightSet: expected ${total} values`);
    let at = 0;
    for (const [name, shape] of this.shapes) {
      const n = shape.reduce((x, y) => x * y, 1);
      this.views.set(name, this.flat.subarray(at, at + n));
      at += n;
    }
  }

  /** Fresh weights with PyTorch's default initialisation. */
  static init(shapes: Shapes, rng: Rng): WeightSet {
    const w = new WeightSet(shapes);
    for (const [name, shape] of w.shapes) w.views.get(name)!.set(initTensor(name, shape, rng));
    return w;
  }

  /** Weights read from safetensors bytes (every tensor of `shapes` must be present). */
  static fromSafetensors(shapes: Shapes, bytes: Uint8Array): WeightSet {
    const { tensors } = readSafetensors(bytes);
    const w = new WeightSet(shapes);
    for (const [name, shape] of w.shapes) {
      const t = tensors.get(name);
      if (!t || t.shape.join() !== shape.join()) {
        throw new Error(`weights: tensor '${name}' missing or of another shape`);
      }
      w.views.get(name)!.set(t.data);
    }
    return w;
  }

  /** safetensors bytes of every tensor. */
  toSafetensors(metadata: Record<string, string> = { format: "pt" }): Uint8Array {
    const out: Record<string, { data: Float32Array; shape: number[] }> = {};
    for (const [name, shape] of this.shapes) out[name] = { data: this.views.get(name)!, shape };
    return writeSafetensors(out, metadata);
  }

  /** A copy (for EMA weights). */
  clone(): WeightSet {
    return new WeightSet(this.shapes, this.flat.slice());
  }

  /** ema ← decay · ema + (1 − decay) · this. */
  updateEma(ema: WeightSet, decay: number): void {
    const a = ema.flat, b = this.flat;
    for (let i = 0; i < a.length; i++) a[i] = decay * a[i]! + (1 - decay) * b[i]!;
  }
}
