/**
 * diffusers `Transformer2DModel` on continuous input: GroupNorm (eps 1e-6), proj_in
 * (Linear after flattening when `use_linear_projection`, else a 1x1 conv before), the
 * BasicTransformerBlocks, proj_out, and the residual.
 *
 * @module
 */
import { basicTransformerBlock } from "./basic_transformer_block.ts";
import type { BlockContext } from "./context.ts";
import { conv2d } from "./conv2d.ts";
import { groupNorm } from "./group_norm.ts";
import { linear } from "./linear.ts";

/** Options of {@link transformer2D}. */
export interface Transformer2DOptions {
  numHeads: number;
  headDim: number;
  groups: number;
  useLinearProjection: boolean;
  /** BasicTransformerBlocks (`transformer_layers_per_block`). */
  numLayers: number;
}

/**
 * A spatial transformer on [B, C, H, W] attending to `context` [B, M, cross_dim].
 * @example
 * ```ts ignore
 * const y = transformer2D(ctx.at("attentions.0"), x, ehs, { numHeads: 5, headDim: 64, groups: 32, useLinearProjection: true, numLayers: 1 });
 * ```
 */
export function transformer2D(
  ctx: BlockContext,
  x: string,
  context: string,
  o: Transformer2DOptions,
): string {
  const g = ctx.g;
  const [, c, hgt, wid] = g.shape(x) as [number, number, number, number];
  const inner = o.numHeads * o.headDim;
  let h = groupNorm(ctx.at("norm"), x, { groups: o.groups, eps: 1e-6 });
  if (!o.useLinearProjection) h = conv2d(ctx.at("proj_in"), h, { outChannels: inner, kernel: 1 });
  const width = g.shape(h)[1]!;
  h = g.transpose(g.one("Reshape", [h, g.ints([0, width, -1])]), [0, 2, 1]);
  if (o.useLinearProjection) h = linear(ctx.at("proj_in"), h, { outFeatures: inner });
  for (let i = 0; i < o.numLayers; i++) {
    h = basicTransformerBlock(ctx.at(`transformer_blocks.${i}`), h, context, o);
  }
  const toImage = (y: string) =>
    g.one("Reshape", [g.transpose(y, [0, 2, 1]), g.ints([0, g.shape(y)[2]!, hgt, wid])]);
  h = o.useLinearProjection
    ? toImage(linear(ctx.at("proj_out"), h, { outFeatures: c }))
    : conv2d(ctx.at("proj_out"), toImage(h), { outChannels: c, kernel: 1 });
  return g.add(h, x);
}
