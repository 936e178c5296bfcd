/**
 * diffusers `FeedForward` with GEGLU (BasicTransformerBlock's default): net.0.proj to
 * 2·inner, split into hidden and gate, hidden·gelu(gate), then net.2 back to dim.
 *
 * @module
 */
import { activation } from "./activation.ts";
import type { BlockContext } from "./context.ts";
import { linear } from "./linear.ts";

/**
 * GEGLU feed-forward on [B, N, dim] with inner width dim·mult.
 * @example
 * ```ts ignore
 * const y = feedForwardGeglu(ctx.at("ff"), x);
 * ```
 */
export function feedForwardGeglu(ctx: BlockContext, x: string, mult = 4): string {
  const g = ctx.g;
  const shape = g.shape(x);
  const dim = shape[shape.length - 1]!;
  const inner = dim * mult;
  const proj = linear(ctx.at("net.0.proj"), x, { outFeatures: 2 * inner });
  const [hidden, gate] = g.split(proj, [inner, inner], shape.length - 1) as [string, string];
  const y = g.mul(hidden, activation(g, "gelu", gate));
  return linear(ctx.at("net.2"), y, { outFeatures: dim });
}
