/**
 * Multi-head scaled dot-product attention, and diffusers' `Attention` module (to_q, to_k,
 * to_v, to_out.0) as BasicTransformerBlock uses it for self- and cross-attention.
 * Head splits reshape with 0 (copy) so the batch axis stays free.
 *
 * @module
 */
import type { Builder } from "../../onnx/mod.ts";
import type { BlockContext } from "./context.ts";
import { linear } from "./linear.ts";

/** Options of {@link multiHeadAttention}. */
export interface MultiHeadOptions {
  /** Number of heads; the feature width is numHeads · head dim. */
  numHeads: number;
  /** Multiply the queries by the scale before QKᵀ (transformers CLIP) rather than the scores. */
  scaleQuery?: boolean;
  /** An additive mask broadcast to the [B, heads, N, M] scores (e.g. causal, [N, M]). */
  mask?: string;
}

/**
 * softmax(Q·Kᵀ/√d + mask)·V over heads: q [B, N, D], k and v [B, M, D] → [B, N, D].
 * Scores are float32 (so diffusers' `upcast_attention`/`upcast_softmax` hold as given).
 * @throws Error when numHeads does not divide D.
 * @example
 * ```ts ignore
 * const out = multiHeadAttention(g, q, k, v, { numHeads: 8 });
 * ```
 */
export function multiHeadAttention(
  g: Builder,
  q: string,
  k: string,
  v: string,
  o: MultiHeadOptions,
): string {
  const d = g.shape(q)[2]!;
  if (d % o.numHeads !== 0) throw new Error(`attention: ${o.numHeads} heads do not divide ${d}`);
  const hd = d / o.numHeads;
  const heads = (x: string, perm: number[]) =>
    g.transpose(g.one("Reshape", [x, g.ints([0, 0, o.numHeads, hd])]), perm);
  const scale = 1 / Math.sqrt(hd);
  let qh = heads(q, [0, 2, 1, 3]);
  const kt = heads(k, [0, 2, 3, 1]);
  const vh = heads(v, [0, 2, 1, 3]);
  if (o.scaleQuery) qh = g.mul(qh, scale);
  let scores = g.matmul(qh, kt);
  if (!o.scaleQuery) scores = g.mul(scores, scale);
  if (o.mask) scores = g.add(scores, o.mask);
  const out = g.matmul(g.softmax(scores, -1), vh);
  return g.one("Reshape", [g.transpose(out, [0, 2, 1, 3]), g.ints([0, 0, d])]);
}

/** Options of {@link attention}. */
export interface AttentionOptions {
  numHeads: number;
  headDim: number;
  /** Whether to_q/to_k/to_v have biases (diffusers `attention_bias`, false in SD UNets). */
  qkvBias: boolean;
}

/**
 * diffusers `Attention` with AttnProcessor on [B, N, query_dim]: self-attention when
 * `context` is undefined, cross-attention on `context` [B, M, cross_dim] otherwise.
 * @example
 * ```ts ignore
 * const y = attention(ctx.at("attn2"), x, "encoder_hidden_states", { numHeads: 5, headDim: 64, qkvBias: false });
 * ```
 */
export function attention(
  ctx: BlockContext,
  x: string,
  context: string | undefined,
  o: AttentionOptions,
): string {
  const inner = o.numHeads * o.headDim;
  const qkv = { outFeatures: inner, bias: o.qkvBias };
  const q = linear(ctx.at("to_q"), x, qkv);
  const k = linear(ctx.at("to_k"), context ?? x, qkv);
  const v = linear(ctx.at("to_v"), context ?? x, qkv);
  const h = multiHeadAttention(ctx.g, q, k, v, { numHeads: o.numHeads });
  const queryDim = ctx.g.shape(x)[2]!;
  return linear(ctx.at("to_out.0"), h, { outFeatures: queryDim });
}
