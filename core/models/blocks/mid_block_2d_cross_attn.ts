/**
 * diffusers `UNetMidBlock2DCrossAttn`: resnets.0, then (attentions.i, resnets.i+1) per
 * layer; resnet outputs are divided by `mid_block_scale_factor`.
 *
 * @module
 */
import type { BlockContext } from "./context.ts";
import { resnetBlock2D } from "./resnet.ts";
import { transformer2D } from "./transformer_2d.ts";
import { crossAttnOptions, type MidBlockArgs } from "./unet_block.ts";

/**
 * `UNetMidBlock2DCrossAttn` on [B, C, H, W] (numLayers = transformer/resnet pairs, 1 in SD).
 * @example
 * ```ts ignore
 * const y = midBlock2DCrossAttn(ctx.at("mid_block"), x, args);
 * ```
 */
export function midBlock2DCrossAttn(ctx: BlockContext, x: string, a: MidBlockArgs): string {
  const t = crossAttnOptions(a, a.outChannels, ctx.prefix);
  let h = resnetBlock2D(ctx.at("resnets.0"), x, a.temb, a);
  for (let i = 0; i < a.numLayers; i++) {
    h = transformer2D(ctx.at(`attentions.${i}`), h, t.context, t);
    h = resnetBlock2D(ctx.at(`resnets.${i + 1}`), h, a.temb, a);
  }
  return h;
}
