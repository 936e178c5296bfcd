/**
 * diffusers `DownBlock2D`: resnets, then a stride-2 downsampler; every resnet output and
 * the downsampled state are handed to the up path. `CrossAttnDownBlock2D` reuses the
 * stack with a Transformer2DModel after each resnet.
 *
 * @module
 */
import type { BlockContext } from "./context.ts";
import { downsample2D } from "./downsample.ts";
import { resnetBlock2D } from "./resnet.ts";
import type { DownBlockArgs, DownBlockResult } from "./unet_block.ts";

/** Applied after resnet `i`: returns the new state (e.g. attentions.i). */
export type AfterResnet = (ctx: BlockContext, x: string, i: number) => string;

/**
 * The resnet (+ `after`) stack and the downsampler, shared by the down block types.
 * @example
 * ```ts ignore
 * const { sample, skips } = downStack(ctx, x, args);
 * ```
 */
export function downStack(
  ctx: BlockContext,
  x: string,
  a: DownBlockArgs,
  after?: AfterResnet,
): DownBlockResult {
  const skips: string[] = [];
  let h = x;
  for (let i = 0; i < a.numLayers; i++) {
    h = resnetBlock2D(ctx.at(`resnets.${i}`), h, a.temb, a);
    if (after) h = after(ctx, h, i);
    skips.push(h);
  }
  if (a.addDownsample) {
    h = downsample2D(ctx.at("downsamplers.0"), h, a.downsamplePadding);
    skips.push(h);
  }
  return { sample: h, skips };
}

/**
 * `DownBlock2D` on [B, C, H, W].
 * @example
 * ```ts ignore
 * const { sample, skips } = downBlock2D(ctx.at("down_blocks.3"), x, args);
 * ```
 */
export function downBlock2D(ctx: BlockContext, x: string, a: DownBlockArgs): DownBlockResult {
  return downStack(ctx, x, a);
}
