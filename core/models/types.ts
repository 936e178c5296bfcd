/**
 * The one in-memory form of a Stable-Diffusion-family model, whatever its source
 * (diffusers checkpoint built by core, or an ONNX export folder): ONNX graphs with
 * fixed input/output names, plus the facts the pipeline and training need.
 *
 * Graph interfaces (batch axis symbolic "batch", other axes static):
 * - textEncoder:        input_ids int32 [B, L]            → last_hidden_state f32 [B, L, d]
 * - textEncoderEmbeds:  inputs_embeds f32 [B, L, d]        → last_hidden_state f32 [B, L, d]
 *                       (positional embedding added once, inside)
 * - unet:               sample f32 [B, C, h, w], timestep f32 [B], encoder_hidden_states f32 [B, L, d]
 *                       → out_sample f32 [B, C, h, w]
 * - vaeDecoder:         latent_sample f32 [B, C, h, w]     → sample f32 [B, 3, H, W] (no scaling factor)
 * - vaeEncoder:         sample f32 [B, 3, H, W]            → latent_sample f32 [B, C, h, w] (posterior mean)
 *
 * @module
 */
import type { Model, Tensor } from "../onnx/mod.ts";

/** Facts about a model that are not in its graphs. */
export interface ModelInfo {
  /** Text sequence length L (77 for SD). */
  maxLength: number;
  /** Text feature width d. */
  hiddenSize: number;
  /** Latent channels C. */
  latentChannels: number;
  /** Latent side h = w at the model's native resolution. */
  latentSize: number;
  /** Pixels per latent cell (8 for SD's VAE). */
  vaeScale: number;
  /** VAE latent scaling factor (0.18215 for SD 1/2). */
  scalingFactor: number;
}

/** A model's graphs and info. */
export interface SdGraphs {
  info: ModelInfo;
  textEncoder: Model;
  textEncoderEmbeds: Model;
  /** The token-embedding table [vocab, d] (to look up BOS/EOS/PAD and word vectors). */
  tokenEmbedding: Tensor;
  /** Directory the token table's external data (if any) resolves against. */
  tokenEmbeddingBaseDir?: string;
  unet: Model;
  /**
   * null for a pixel-space model (no VAE: the UNet denoises pixels in [-1, 1] directly,
   * vaeScale = 1, scalingFactor = 1), like the project's embedded default model.
   */
  vaeDecoder: Model | null;
  vaeEncoder: Model | null;
}
