/**
 * transformers' CLIPTextModel (no projection) as two ONNX graphs sharing the same
 * external tensors: from token ids (Gather in the token table) and from token embeddings
 * (the position embedding is added once, inside). Both end after final_layer_norm with
 * `last_hidden_state`, what Stable Diffusion uses as encoder_hidden_states.
 *
 * Graphs: input_ids int32 [B, L] → last_hidden_state f32 [B, L, d] (and optionally
 * pooler_output f32 [B, d]); inputs_embeds f32 [B, L, d] → last_hidden_state. B is the
 * symbolic "batch".
 *
 * @module
 */
import { attr, type Builder, DType, type Model } from "../onnx/mod.ts";
import { clipEncoderLayer } from "./blocks/clip_encoder_layer.ts";
import { type BlockContext, startModelGraph, type WeightSource } from "./blocks/context.ts";
import { layerNorm } from "./blocks/layer_norm.ts";
import type { ClipTextConfig } from "./config.ts";

/** The token table's tensor name. */
export const TOKEN_EMBEDDING = "text_model.embeddings.token_embedding.weight";
const POSITION_EMBEDDING = "text_model.embeddings.position_embedding.weight";

/** Options of the text encoder builders. */
export interface ClipTextBuildOptions {
  /** Sequence length L (default and maximum: max_position_embeddings). */
  seqLength?: number;
  /** Also output `pooler_output` [B, d] (ids graph only; transformers' pooling rule). */
  pooled?: boolean;
}

/** float32's most negative finite value: transformers' causal-mask fill. */
const F32_MIN = -3.4028234663852886e38;

function seqLength(c: ClipTextConfig, o: ClipTextBuildOptions): number {
  const l = o.seqLength ?? c.max_position_embeddings;
  if (!Number.isInteger(l) || l < 1 || l > c.max_position_embeddings) {
    throw new Error(
      `text encoder: sequence length ${l} is outside 1..${c.max_position_embeddings} ` +
        "(max_position_embeddings)",
    );
  }
  return l;
}

/** Position embedding + layers + final LayerNorm on [B, L, d] token embeddings. */
function encode(ctx: BlockContext, c: ClipTextConfig, tokens: string, l: number): string {
  const g = ctx.g;
  const d = c.hidden_size;
  let pos = ctx.param(POSITION_EMBEDDING, [c.max_position_embeddings, d]);
  if (l < c.max_position_embeddings) pos = g.slice(pos, [0], [l], [0]);
  let x = g.add(tokens, pos);
  const mask = causalMask(g, l);
  const tm = ctx.at("text_model");
  for (let i = 0; i < c.num_hidden_layers; i++) {
    x = clipEncoderLayer(tm.at(`encoder.layers.${i}`), x, {
      numHeads: c.num_attention_heads,
      intermediateSize: c.intermediate_size,
      act: c.hidden_act,
      eps: c.layer_norm_eps,
      mask,
    });
  }
  return layerNorm(tm.at("final_layer_norm"), x, c.layer_norm_eps);
}

/** The additive causal mask [L, L] as a constant initializer. */
function causalMask(g: Builder, l: number): string {
  const values = new Array<number>(l * l);
  for (let i = 0; i < l; i++) for (let j = 0; j < l; j++) values[i * l + j] = j > i ? F32_MIN : 0;
  return g.constant(DType.FLOAT, [l, l], values);
}

/**
 * transformers' pooled output: the hidden state at the first EOS token (at the largest
 * id when eos_token_id is the legacy 2), picked with a one-hot MatMul.
 */
function pooled(g: Builder, c: ClipTextConfig, ids: string, hidden: string, l: number): string {
  const key = c.eos_token_id === 2
    ? ids
    : g.cast(g.equal(ids, g.constant(DType.INT32, [], [c.eos_token_id])), DType.INT32);
  const at = g.one("ArgMax", [key], [attr.int("axis", 1), attr.int("keepdims", 1)]);
  const positions = g.constant(DType.INT64, [l], Array.from({ length: l }, (_, i) => i));
  const onehot = g.unsqueeze(g.cast(g.equal(at, positions), DType.FLOAT), [1]);
  return g.squeeze(g.matmul(onehot, hidden), [1]);
}

/**
 * Builds the ids graph: input_ids int32 [B, L] → last_hidden_state [B, L, d].
 * @param baseDir directory the tensors' external locations resolve against
 * @throws Error naming the tensor when one is missing or has a shape the config does not imply.
 * @example
 * ```ts ignore
 * const te = buildClipTextEncoder(parseClipTextConfig(json), weights, "/models/sd2");
 * ```
 */
export function buildClipTextEncoder(
  config: ClipTextConfig,
  source: WeightSource,
  baseDir: string,
  o: ClipTextBuildOptions = {},
): Model {
  const l = seqLength(config, o);
  const { ctx, finish } = startModelGraph(
    [{ name: "input_ids", dtype: DType.INT32, shape: [l] }],
    source,
    baseDir,
  );
  const table = ctx.param(TOKEN_EMBEDDING, [config.vocab_size, config.hidden_size]);
  const tokens = ctx.g.one("Gather", [table, "input_ids"], [attr.int("axis", 0)]);
  const hidden = encode(ctx, config, tokens, l);
  if (!o.pooled) return finish({ last_hidden_state: hidden });
  const pool = pooled(ctx.g, config, "input_ids", hidden, l);
  return finish({ last_hidden_state: hidden, pooler_output: pool });
}

/**
 * Builds the embeddings graph: inputs_embeds f32 [B, L, d] → last_hidden_state [B, L, d],
 * adding the position embedding once.
 * @param baseDir directory the tensors' external locations resolve against
 * @example
 * ```ts ignore
 * const te = buildClipTextEncoderEmbeds(parseClipTextConfig(json), weights, "/models/sd2");
 * ```
 */
export function buildClipTextEncoderEmbeds(
  config: ClipTextConfig,
  source: WeightSource,
  baseDir: string,
  o: Omit<ClipTextBuildOptions, "pooled"> = {},
): Model {
  const l = seqLength(config, o);
  const { ctx, finish } = startModelGraph(
    [{ name: "inputs_embeds", dtype: DType.FLOAT, shape: [l, config.hidden_size] }],
    source,
    baseDir,
  );
  return finish({ last_hidden_state: encode(ctx, config, "inputs_embeds", l) });
}
