/**
 * diffusers `UNetMidBlock2D` as AutoencoderKL uses it: resnets.0, then (attentions.i,
 * resnets.i+1) per layer, with single-head spatial self-attention (GroupNorm, residual)
 * when `mid_block_add_attention`.
 *
 * @module
 */
import type { BlockContext } from "./context.ts";
import { resnetBlock2D } from "./resnet.ts";
import { spatialAttention } from "./spatial_attention.ts";
import type { MidBlockArgs } from "./unet_block.ts";

/** Options of {@link midBlock2D} beyond the block arguments. */
export interface MidBlock2DArgs extends MidBlockArgs {
  /** Whether the attentions exist (`mid_block_add_attention`, default true). */
  addAttention: boolean;
}

/**
 * `UNetMidBlock2D` on [B, C, H, W], without time embedding.
 * @example
 * ```ts ignore
 * const y = midBlock2D(ctx.at("decoder.mid_block"), x, { ...args, addAttention: true });
 * ```
 */
export function midBlock2D(ctx: BlockContext, x: string, a: MidBlock2DArgs): string {
  let h = resnetBlock2D(ctx.at("resnets.0"), x, a.temb, a);
  for (let i = 0; i < a.numLayers; i++) {
    if (a.addAttention) {
      h = spatialAttention(ctx.at(`attentions.${i}`), h, { groups: a.groups, eps: a.eps });
    }
    h = resnetBlock2D(ctx.at(`resnets.${i + 1}`), h, a.temb, a);
  }
  return h;
}
