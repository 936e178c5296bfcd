/**
 * diffusers `ResnetBlock2D` (time_embedding_norm "default"): norm1 → act → conv1
 * (+ time_emb_proj(act(temb)) per channel) → norm2 → act → conv2, plus the input (1x1
 * conv_shortcut when the channel count changes), divided by output_scale_factor.
 *
 * @module
 */
import { type Activation, activation } from "./activation.ts";
import type { BlockContext } from "./context.ts";
import { conv2d } from "./conv2d.ts";
import { groupNorm } from "./group_norm.ts";
import { linear } from "./linear.ts";

/** Options of {@link resnetBlock2D}. */
export interface ResnetOptions {
  outChannels: number;
  groups: number;
  eps: number;
  act: Activation;
  /** Divides the output (diffusers `output_scale_factor`, default 1). */
  outputScaleFactor?: number;
}

/**
 * A residual block on [B, C, H, W]; `temb` [B, T] is the time embedding (undefined in the VAE).
 * @example
 * ```ts ignore
 * const y = resnetBlock2D(ctx.at("resnets.0"), x, temb, { outChannels: 320, groups: 32, eps: 1e-5, act: "silu" });
 * ```
 */
export function resnetBlock2D(
  ctx: BlockContext,
  x: string,
  temb: string | undefined,
  o: ResnetOptions,
): string {
  const g = ctx.g;
  const norm = { groups: o.groups, eps: o.eps };
  let h = activation(g, o.act, groupNorm(ctx.at("norm1"), x, norm));
  h = conv2d(ctx.at("conv1"), h, { outChannels: o.outChannels });
  if (temb !== undefined) {
    const t = linear(ctx.at("time_emb_proj"), activation(g, o.act, temb), {
      outFeatures: o.outChannels,
    });
    h = g.add(h, g.unsqueeze(t, [2, 3]));
  }
  h = activation(g, o.act, groupNorm(ctx.at("norm2"), h, norm));
  h = conv2d(ctx.at("conv2"), h, { outChannels: o.outChannels });
  const skip = g.shape(x)[1] === o.outChannels
    ? x
    : conv2d(ctx.at("conv_shortcut"), x, { outChannels: o.outChannels, kernel: 1 });
  const y = g.add(skip, h);
  const scale = o.outputScaleFactor ?? 1;
  return scale === 1 ? y : g.div(y, scale);
}
