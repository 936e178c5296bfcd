/**
 * diffusers `UpBlock2D`: for each resnet, concatenate the last remaining skip state on
 * the channel axis, run the resnet; then a ×2 upsampler. `CrossAttnUpBlock2D` reuses the
 * stack with a Transformer2DModel after each resnet.
 *
 * @module
 */
import type { BlockContext } from "./context.ts";
import type { AfterResnet } from "./down_block_2d.ts";
import { resnetBlock2D } from "./resnet.ts";
import type { UpBlockArgs } from "./unet_block.ts";
import { upsample2D } from "./upsample.ts";

/**
 * The skip-concat resnet (+ `after`) stack and the upsampler, shared by the up block types.
 * @throws Error when fewer skip states than resnets are given.
 * @example
 * ```ts ignore
 * const y = upStack(ctx, x, args);
 * ```
 */
export function upStack(ctx: BlockContext, x: string, a: UpBlockArgs, after?: AfterResnet): string {
  if (a.skips.length < a.numLayers) {
    throw new Error(`${ctx.prefix}: ${a.numLayers} resnets but ${a.skips.length} skip states`);
  }
  let h = x;
  for (let i = 0; i < a.numLayers; i++) {
    const skip = a.skips[a.skips.length - 1 - i]!;
    h = resnetBlock2D(ctx.at(`resnets.${i}`), ctx.g.concat([h, skip], 1), a.temb, a);
    if (after) h = after(ctx, h, i);
  }
  return a.addUpsample ? upsample2D(ctx.at("upsamplers.0"), h) : h;
}

/**
 * `UpBlock2D` on [B, C, H, W].
 * @example
 * ```ts ignore
 * const y = upBlock2D(ctx.at("up_blocks.0"), x, args);
 * ```
 */
export function upBlock2D(ctx: BlockContext, x: string, a: UpBlockArgs): string {
  return upStack(ctx, x, a);
}
