/**
 * diffusers `CrossAttnUpBlock2D`: UpBlock2D with a Transformer2DModel after each resnet.
 *
 * @module
 */
import type { BlockContext } from "./context.ts";
import { transformer2D } from "./transformer_2d.ts";
import { crossAttnOptions, type UpBlockArgs } from "./unet_block.ts";
import { upStack } from "./up_block_2d.ts";

/**
 * `CrossAttnUpBlock2D` on [B, C, H, W] with context `a.context`.
 * @example
 * ```ts ignore
 * const y = crossAttnUpBlock2D(ctx.at("up_blocks.1"), x, args);
 * ```
 */
export function crossAttnUpBlock2D(ctx: BlockContext, x: string, a: UpBlockArgs): string {
  const t = crossAttnOptions(a, a.outChannels, ctx.prefix);
  return upStack(ctx, x, a, (c, h, i) => transformer2D(c.at(`attentions.${i}`), h, t.context, t));
}
