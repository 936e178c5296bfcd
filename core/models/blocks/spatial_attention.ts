/**
 * The VAE mid-block attention: diffusers `Attention` with group_norm, biased q/k/v,
 * `residual_connection`, on [B, C, H, W] flattened to [B, HW, C]; one head of width C
 * (AutoencoderKL sets attention_head_dim = C). Legacy tensor names (query, key, value,
 * proj_attn) are accepted in place of to_q, to_k, to_v, to_out.0.
 *
 * @module
 */
import { multiHeadAttention } from "./attention.ts";
import type { BlockContext } from "./context.ts";
import { groupNorm } from "./group_norm.ts";
import { linear } from "./linear.ts";

/** Options of {@link spatialAttention}. */
export interface SpatialAttentionOptions {
  groups: number;
  eps: number;
  /** Head width (default: all channels, one head). */
  headDim?: number;
}

/**
 * Self-attention over the pixels of [B, C, H, W], plus the input.
 * @example
 * ```ts ignore
 * const y = spatialAttention(ctx.at("attentions.0"), x, { groups: 32, eps: 1e-6 });
 * ```
 */
export function spatialAttention(
  ctx: BlockContext,
  x: string,
  o: SpatialAttentionOptions,
): string {
  const g = ctx.g;
  const [, c, hgt, wid] = g.shape(x) as [number, number, number, number];
  const legacy = !ctx.has("to_q.weight") && ctx.has("query.weight");
  const [qn, kn, vn, on] = legacy
    ? ["query", "key", "value", "proj_attn"]
    : ["to_q", "to_k", "to_v", "to_out.0"];
  let h = groupNorm(ctx.at("group_norm"), x, { groups: o.groups, eps: o.eps });
  h = g.transpose(g.one("Reshape", [h, g.ints([0, c, -1])]), [0, 2, 1]);
  const q = linear(ctx.at(qn), h, { outFeatures: c });
  const k = linear(ctx.at(kn), h, { outFeatures: c });
  const v = linear(ctx.at(vn), h, { outFeatures: c });
  const numHeads = c / (o.headDim ?? c);
  h = linear(ctx.at(on), multiHeadAttention(g, q, k, v, { numHeads }), { outFeatures: c });
  h = g.one("Reshape", [g.transpose(h, [0, 2, 1]), g.ints([0, c, hgt, wid])]);
  return g.add(h, x);
}
