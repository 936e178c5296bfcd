/**
 * diffusers `BasicTransformerBlock` (norm_type "layer_norm", GEGLU feed-forward):
 * x += attn1(norm1(x)); x += attn2(norm2(x), context); x += ff(norm3(x)).
 *
 * @module
 */
import { attention } from "./attention.ts";
import type { BlockContext } from "./context.ts";
import { feedForwardGeglu } from "./feed_forward.ts";
import { layerNorm } from "./layer_norm.ts";

/** Options of {@link basicTransformerBlock}. */
export interface BasicTransformerOptions {
  numHeads: number;
  headDim: number;
}

/** LayerNorm eps of BasicTransformerBlock (diffusers' `norm_eps` default). */
const EPS = 1e-5;

/**
 * One transformer block on [B, N, dim], cross-attending to `context` [B, M, cross_dim].
 * @example
 * ```ts ignore
 * const y = basicTransformerBlock(ctx.at("transformer_blocks.0"), x, ehs, { numHeads: 5, headDim: 64 });
 * ```
 */
export function basicTransformerBlock(
  ctx: BlockContext,
  x: string,
  context: string,
  o: BasicTransformerOptions,
): string {
  const g = ctx.g;
  const attn = { numHeads: o.numHeads, headDim: o.headDim, qkvBias: false };
  let h = attention(ctx.at("attn1"), layerNorm(ctx.at("norm1"), x, EPS), undefined, attn);
  x = g.add(h, x);
  h = attention(ctx.at("attn2"), layerNorm(ctx.at("norm2"), x, EPS), context, attn);
  x = g.add(h, x);
  h = feedForwardGeglu(ctx.at("ff"), layerNorm(ctx.at("norm3"), x, EPS));
  return g.add(h, x);
}
