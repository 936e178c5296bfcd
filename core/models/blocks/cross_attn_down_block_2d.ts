/**
 * diffusers `CrossAttnDownBlock2D`: DownBlock2D with a Transformer2DModel after each resnet.
 *
 * @module
 */
import type { BlockContext } from "./context.ts";
import { downStack } from "./down_block_2d.ts";
import { transformer2D } from "./transformer_2d.ts";
import { crossAttnOptions, type DownBlockArgs, type DownBlockResult } from "./unet_block.ts";

/**
 * `CrossAttnDownBlock2D` on [B, C, H, W] with context `a.context`.
 * @example
 * ```ts ignore
 * const { sample, skips } = crossAttnDownBlock2D(ctx.at("down_blocks.0"), x, args);
 * ```
 */
export function crossAttnDownBlock2D(
  ctx: BlockContext,
  x: string,
  a: DownBlockArgs,
): DownBlockResult {
  const t = crossAttnOptions(a, a.outChannels, ctx.prefix);
  return downStack(ctx, x, a, (c, h, i) => transformer2D(c.at(`attentions.${i}`), h, t.context, t));
}
