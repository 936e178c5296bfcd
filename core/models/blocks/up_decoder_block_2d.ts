/**
 * diffusers `UpDecoderBlock2D` (the VAE decoder's): resnets without time embedding or
 * skip states, then a ×2 upsampler.
 *
 * @module
 */
import type { BlockContext } from "./context.ts";
import { resnetBlock2D } from "./resnet.ts";
import type { UpBlockArgs } from "./unet_block.ts";
import { upsample2D } from "./upsample.ts";

/**
 * `UpDecoderBlock2D` on [B, C, H, W]; `a.temb` and `a.skips` are ignored.
 * @example
 * ```ts ignore
 * const y = upDecoderBlock2D(ctx.at("decoder.up_blocks.0"), x, args);
 * ```
 */
export function upDecoderBlock2D(ctx: BlockContext, x: string, a: UpBlockArgs): string {
  let h = x;
  for (let i = 0; i < a.numLayers; i++) {
    h = resnetBlock2D(ctx.at(`resnets.${i}`), h, undefined, a);
  }
  return a.addUpsample ? upsample2D(ctx.at("upsamplers.0"), h) : h;
}
