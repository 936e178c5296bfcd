/**
 * AutoencoderKL as two ONNX graphs, built from vae/config.json with the diffusers tensor
 * names bound in place: the decoder (post_quant_conv → Decoder) and the encoder (Encoder
 * → quant_conv → the posterior mean, the first C channels of the moments). Neither
 * applies the scaling factor.
 *
 * Graphs: latent_sample f32 [B, C, h, w] → sample f32 [B, 3, H, W], and
 * sample f32 [B, 3, H, W] → latent_sample f32 [B, C, h, w]; B is the symbolic "batch".
 *
 * @module
 */
import { DType, type Model } from "../onnx/mod.ts";
import { activation } from "./blocks/activation.ts";
import { type BlockContext, startModelGraph, type WeightSource } from "./blocks/context.ts";
import { conv2d } from "./blocks/conv2d.ts";
import { downEncoderBlock2D } from "./blocks/down_encoder_block_2d.ts";
import { groupNorm } from "./blocks/group_norm.ts";
import { midBlock2D } from "./blocks/mid_block_2d.ts";
import type { BlockArgs, DownBlockFn, UpBlockFn } from "./blocks/unet_block.ts";
import { upDecoderBlock2D } from "./blocks/up_decoder_block_2d.ts";
import type { VaeConfig } from "./config.ts";

/** Encoder down blocks by diffusers class name. */
export const VAE_DOWN_BLOCKS: Readonly<Record<VaeConfig["down_block_types"][number], DownBlockFn>> =
  { DownEncoderBlock2D: downEncoderBlock2D };

/** Decoder up blocks by diffusers class name. */
export const VAE_UP_BLOCKS: Readonly<Record<VaeConfig["up_block_types"][number], UpBlockFn>> = {
  UpDecoderBlock2D: upDecoderBlock2D,
};

/** AutoencoderKL's fixed GroupNorm eps (Encoder, Decoder and their blocks). */
const EPS = 1e-6;

/** Sizes a VAE graph is built for, in latent cells (all but the batch axis are static). */
export interface VaeBuildOptions {
  /** Latent height (default: config sample_size / vaeScale). */
  height?: number;
  /** Latent width (default: as height). */
  width?: number;
}

/**
 * Pixels per latent cell: 2^(number of down blocks - 1).
 * @example
 * ```ts ignore
 * vaeScale(parseVaeConfig(json)); // 8 for SD 1.x/2.x
 * ```
 */
export function vaeScale(config: VaeConfig): number {
  return 2 ** (config.block_out_channels.length - 1);
}

function sizes(config: VaeConfig, o: VaeBuildOptions): [number, number] {
  const s = vaeScale(config);
  const h = o.height ?? Math.floor(config.sample_size / s);
  return [h, o.width ?? h];
}

function common(config: VaeConfig): Omit<BlockArgs, "outChannels" | "numLayers"> {
  return { groups: config.norm_num_groups, eps: EPS, act: config.act_fn };
}

function mid(ctx: BlockContext, x: string, config: VaeConfig): string {
  return midBlock2D(ctx.at("mid_block"), x, {
    ...common(config),
    outChannels: config.block_out_channels[config.block_out_channels.length - 1]!,
    numLayers: 1,
    outputScaleFactor: 1,
    addAttention: config.mid_block_add_attention,
  });
}

function tail(ctx: BlockContext, x: string, config: VaeConfig, outChannels: number): string {
  const h = groupNorm(ctx.at("conv_norm_out"), x, { groups: config.norm_num_groups, eps: EPS });
  return conv2d(ctx.at("conv_out"), activation(ctx.g, config.act_fn, h), { outChannels });
}

/**
 * Builds the VAE decoder graph: latent_sample → sample.
 * @param baseDir directory the tensors' external locations resolve against
 * @example
 * ```ts ignore
 * const dec = buildVaeDecoder(parseVaeConfig(json), weights, "/models/sd2", { height: 64 });
 * ```
 */
export function buildVaeDecoder(
  config: VaeConfig,
  source: WeightSource,
  baseDir: string,
  o: VaeBuildOptions = {},
): Model {
  const [h, w] = sizes(config, o);
  const lc = config.latent_channels;
  const { ctx, finish } = startModelGraph(
    [{ name: "latent_sample", dtype: DType.FLOAT, shape: [lc, h, w] }],
    source,
    baseDir,
  );
  const dec = ctx.at("decoder");
  const ch = [...config.block_out_channels].reverse();
  let x = "latent_sample";
  if (config.use_post_quant_conv) {
    x = conv2d(ctx.at("post_quant_conv"), x, { outChannels: lc, kernel: 1 });
  }
  x = conv2d(dec.at("conv_in"), x, { outChannels: ch[0]! });
  x = mid(dec, x, config);
  config.up_block_types.forEach((type, i) => {
    x = VAE_UP_BLOCKS[type](dec.at(`up_blocks.${i}`), x, {
      ...common(config),
      outChannels: ch[i]!,
      numLayers: config.layers_per_block + 1,
      addUpsample: i < ch.length - 1,
      skips: [],
    });
  });
  return finish({ sample: tail(dec, x, config, config.out_channels) });
}

/**
 * Builds the VAE encoder graph: sample → latent_sample, the posterior mean.
 * @param baseDir directory the tensors' external locations resolve against
 * @example
 * ```ts ignore
 * const enc = buildVaeEncoder(parseVaeConfig(json), weights, "/models/sd2", { height: 64 });
 * ```
 */
export function buildVaeEncoder(
  config: VaeConfig,
  source: WeightSource,
  baseDir: string,
  o: VaeBuildOptions = {},
): Model {
  const [h, w] = sizes(config, o);
  const s = vaeScale(config);
  const lc = config.latent_channels;
  const { ctx, finish } = startModelGraph(
    [{ name: "sample", dtype: DType.FLOAT, shape: [config.in_channels, h * s, w * s] }],
    source,
    baseDir,
  );
  const enc = ctx.at("encoder");
  const ch = config.block_out_channels;
  let x = conv2d(enc.at("conv_in"), "sample", { outChannels: ch[0]! });
  config.down_block_types.forEach((type, i) => {
    x = VAE_DOWN_BLOCKS[type](enc.at(`down_blocks.${i}`), x, {
      ...common(config),
      outChannels: ch[i]!,
      numLayers: config.layers_per_block,
      addDownsample: i < ch.length - 1,
      downsamplePadding: 0,
    }).sample;
  });
  x = tail(enc, mid(enc, x, config), config, 2 * lc);
  if (config.use_quant_conv) {
    x = conv2d(ctx.at("quant_conv"), x, { outChannels: 2 * lc, kernel: 1 });
  }
  return finish({ latent_sample: ctx.g.slice(x, [0], [lc], [1]) });
}
