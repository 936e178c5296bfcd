/**
 * Activation functions as standard operators (opset 17 has no Gelu): a typed table by
 * the names configs use (`act_fn`, `hidden_act`).
 *
 * @module
 */
import type { Builder } from "../../onnx/mod.ts";

/** Activation names the builders accept. */
export type Activation = "silu" | "gelu" | "quick_gelu";

/** SiLU: x·sigmoid(x). */
function silu(g: Builder, x: string): string {
  return g.mul(x, g.sigmoid(x));
}

/** Exact GELU: x·½(1 + erf(x/√2)) (torch `F.gelu`, transformers `gelu`). */
function gelu(g: Builder, x: string): string {
  const cdf = g.mul(g.add(g.erf(g.mul(x, Math.SQRT1_2)), 1), 0.5);
  return g.mul(x, cdf);
}

/** OpenAI CLIP's quick GELU: x·sigmoid(1.702x). */
function quickGelu(g: Builder, x: string): string {
  return g.mul(x, g.sigmoid(g.mul(x, 1.702)));
}

/** Activation builders by name. */
export const ACTIVATIONS: Readonly<Record<Activation, (g: Builder, x: string) => string>> = {
  silu,
  gelu,
  quick_gelu: quickGelu,
};

/**
 * Applies activation `name` to `x`.
 * @example
 * ```ts ignore
 * const y = activation(g, "silu", x);
 * ```
 */
export function activation(g: Builder, name: Activation, x: string): string {
  return ACTIVATIONS[name](g, x);
}
