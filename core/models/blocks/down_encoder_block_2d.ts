/**
 * diffusers `DownEncoderBlock2D` (the VAE encoder's): resnets without time embedding,
 * then a downsampler (padding 0 in AutoencoderKL: pad (0, 1, 0, 1), stride-2 conv).
 *
 * @module
 */
import type { BlockContext } from "./context.ts";
import { downStack } from "./down_block_2d.ts";
import type { DownBlockArgs, DownBlockResult } from "./unet_block.ts";

/**
 * `DownEncoderBlock2D` on [B, C, H, W]; `a.temb` is ignored.
 * @example
 * ```ts ignore
 * const { sample } = downEncoderBlock2D(ctx.at("encoder.down_blocks.0"), x, args);
 * ```
 */
export function downEncoderBlock2D(
  ctx: BlockContext,
  x: string,
  a: DownBlockArgs,
): DownBlockResult {
  const { temb: _, ...rest } = a;
  return downStack(ctx, x, rest);
}
