/**
 * torch.nn.GroupNorm with standard operators: Reshape [0, G, -1] → InstanceNormalization
 * (unit scale, zero bias) → Reshape back → per-channel Mul/Add affine. The reshapes copy
 * the batch axis (0), so the graph works for any batch size.
 *
 * @module
 */
import { DType } from "../../onnx/mod.ts";
import type { BlockContext } from "./context.ts";

/** Options of {@link groupNorm}. */
export interface GroupNormOptions {
  groups: number;
  eps: number;
}

/**
 * GroupNorm over [B, C, ...] with tensors `weight` and `bias` [C] under `ctx`.
 * @throws Error when `groups` does not divide the channels.
 * @example
 * ```ts ignore
 * const h = groupNorm(ctx.at("norm1"), x, { groups: 32, eps: 1e-5 });
 * ```
 */
export function groupNorm(ctx: BlockContext, x: string, o: GroupNormOptions): string {
  const g = ctx.g;
  const shape = g.shape(x);
  const c = shape[1]!;
  if (c % o.groups !== 0) {
    throw new Error(
      `${ctx.prefix || "group norm"}: ${o.groups} groups do not divide ${c} channels`,
    );
  }
  const grouped = g.one("Reshape", [x, g.ints([0, o.groups, -1])]);
  const ones = g.constant(DType.FLOAT, [o.groups], new Array<number>(o.groups).fill(1));
  const zeros = g.constant(DType.FLOAT, [o.groups], new Array<number>(o.groups).fill(0));
  const normed = g.one("InstanceNormalization", [grouped, ones, zeros], [
    { name: "epsilon", type: "float", f: o.eps },
  ]);
  const back = g.one("Reshape", [normed, g.ints([0, ...shape.slice(1)])]);
  const axes = shape.slice(2).map((_, i) => i + 1);
  const w = g.unsqueeze(ctx.param("weight", [c]), axes);
  const b = g.unsqueeze(ctx.param("bias", [c]), axes);
  return g.add(g.mul(back, w), b);
}
