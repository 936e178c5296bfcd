/**
 * transformers `CLIPEncoderLayer`: x += out_proj(attention(layer_norm1(x)) with causal
 * mask); x += fc2(act(fc1(layer_norm2(x)))). Queries are scaled before QKᵀ, as in
 * CLIPAttention.
 *
 * @module
 */
import { type Activation, activation } from "./activation.ts";
import { multiHeadAttention } from "./attention.ts";
import type { BlockContext } from "./context.ts";
import { layerNorm } from "./layer_norm.ts";
import { linear } from "./linear.ts";

/** Options of {@link clipEncoderLayer}. */
export interface ClipEncoderLayerOptions {
  numHeads: number;
  intermediateSize: number;
  act: Activation;
  eps: number;
  /** Additive causal mask [L, L] (0 on and below the diagonal, float32 min above). */
  mask: string;
}

/**
 * One CLIP text encoder layer on [B, L, d], tensors under `ctx` (`...layers.i`).
 * @example
 * ```ts ignore
 * const y = clipEncoderLayer(ctx.at("text_model.encoder.layers.0"), x, opts);
 * ```
 */
export function clipEncoderLayer(ctx: BlockContext, x: string, o: ClipEncoderLayerOptions): string {
  const g = ctx.g;
  const d = g.shape(x)[2]!;
  const attn = ctx.at("self_attn");
  let h = layerNorm(ctx.at("layer_norm1"), x, o.eps);
  const q = linear(attn.at("q_proj"), h, { outFeatures: d });
  const k = linear(attn.at("k_proj"), h, { outFeatures: d });
  const v = linear(attn.at("v_proj"), h, { outFeatures: d });
  h = multiHeadAttention(g, q, k, v, { numHeads: o.numHeads, scaleQuery: true, mask: o.mask });
  x = g.add(x, linear(attn.at("out_proj"), h, { outFeatures: d }));
  h = layerNorm(ctx.at("layer_norm2"), x, o.eps);
  h = activation(g, o.act, linear(ctx.at("mlp.fc1"), h, { outFeatures: o.intermediateSize }));
  return g.add(x, linear(ctx.at("mlp.fc2"), h, { outFeatures: d }));
}
