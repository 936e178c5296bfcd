/**
 * UNet2DConditionModel as an ONNX graph, built from its config.json with the diffusers
 * tensor names bound in place. The forward pass is numbered as diffusers' is: 1. time,
 * 2. pre-process, 3. down, 4. mid, 5. up, 6. post-process. Blocks are picked from typed
 * tables by their diffusers class names.
 *
 * Graph: sample f32 [B, C, h, w], timestep f32 [B], encoder_hidden_states f32 [B, L, d]
 * → out_sample f32 [B, C, h, w]; B is the symbolic "batch".
 *
 * @module
 */
import { DType, type Model } from "../onnx/mod.ts";
import { activation } from "./blocks/activation.ts";
import { type BlockContext, startModelGraph, type WeightSource } from "./blocks/context.ts";
import { conv2d } from "./blocks/conv2d.ts";
import { crossAttnDownBlock2D } from "./blocks/cross_attn_down_block_2d.ts";
import { crossAttnUpBlock2D } from "./blocks/cross_attn_up_block_2d.ts";
import { downBlock2D } from "./blocks/down_block_2d.ts";
import { groupNorm } from "./blocks/group_norm.ts";
import { midBlock2DCrossAttn } from "./blocks/mid_block_2d_cross_attn.ts";
import { timestepEmbedding, timestepSinusoid } from "./blocks/timestep_embedding.ts";
import type { BlockArgs, DownBlockFn, MidBlockFn, UpBlockFn } from "./blocks/unet_block.ts";
import { upBlock2D } from "./blocks/up_block_2d.ts";
import {
  perBlock,
  type UNetConfig,
  type UNetDownBlockType,
  type UNetUpBlockType,
} from "./config.ts";

/** Down blocks by diffusers class name. */
export const UNET_DOWN_BLOCKS: Readonly<Record<UNetDownBlockType, DownBlockFn>> = {
  CrossAttnDownBlock2D: crossAttnDownBlock2D,
  DownBlock2D: downBlock2D,
};

/** Up blocks by diffusers class name. */
export const UNET_UP_BLOCKS: Readonly<Record<UNetUpBlockType, UpBlockFn>> = {
  CrossAttnUpBlock2D: crossAttnUpBlock2D,
  UpBlock2D: upBlock2D,
};

/** Mid blocks by diffusers class name. */
export const UNET_MID_BLOCKS: Readonly<Record<UNetConfig["mid_block_type"], MidBlockFn>> = {
  UNetMidBlock2DCrossAttn: midBlock2DCrossAttn,
};

/** Sizes the UNet graph is built for (all but the batch axis are static). */
export interface UNetBuildOptions {
  /** Latent height (default: config sample_size). */
  height?: number;
  /** Latent width (default: config sample_size). */
  width?: number;
  /** Length L of encoder_hidden_states (default 77). */
  seqLength?: number;
}

/** Per-block settings resolved from the config (diffusers' list broadcasting). */
interface Plan {
  n: number;
  channels: number[];
  heads: number[];
  layers: number[];
  crossDim: number;
}

function plan(c: UNetConfig): Plan {
  const n = c.block_out_channels.length;
  const cross = perBlock(c.cross_attention_dim, n);
  if (cross.some((d) => d !== cross[0])) {
    throw new Error(
      `unet config: unsupported cross_attention_dim ${JSON.stringify(c.cross_attention_dim)} ` +
        "(one encoder_hidden_states width is needed for every block)",
    );
  }
  return {
    n,
    channels: c.block_out_channels,
    // diffusers quirk: in SD 1/2 configs attention_head_dim is the head count.
    heads: perBlock(c.num_attention_heads ?? c.attention_head_dim, n),
    layers: perBlock(c.layers_per_block, n),
    crossDim: cross[0]!,
  };
}

/**
 * Builds the UNet graph from a parsed config and the tensors of unet/.
 * @param baseDir directory the tensors' external locations resolve against
 * @throws Error naming the field when the latent size does not halve cleanly, or naming
 * the tensor when one is missing or has a shape the config does not imply.
 * @example
 * ```ts ignore
 * const unet = buildUNet(parseUNetConfig(json), weights, "/models/sd2", { seqLength: 77 });
 * ```
 */
export function buildUNet(
  config: UNetConfig,
  source: WeightSource,
  baseDir: string,
  o: UNetBuildOptions = {},
): Model {
  const p = plan(config);
  const h = o.height ?? config.sample_size;
  const w = o.width ?? config.sample_size;
  const factor = 2 ** (p.n - 1);
  if (h % factor !== 0 || w % factor !== 0) {
    throw new Error(
      `unet: latent size ${h}x${w} is not divisible by ${factor} (${p.n - 1} downsamplers); ` +
        `check sample_size ${config.sample_size}`,
    );
  }
  const { ctx, finish } = startModelGraph(
    [
      { name: "sample", dtype: DType.FLOAT, shape: [config.in_channels, h, w] },
      { name: "timestep", dtype: DType.FLOAT, shape: [] },
      { name: "encoder_hidden_states", dtype: DType.FLOAT, shape: [o.seqLength ?? 77, p.crossDim] },
    ],
    source,
    baseDir,
  );
  const g = ctx.g;
  const base: Omit<BlockArgs, "outChannels" | "numLayers"> = {
    groups: config.norm_num_groups,
    eps: config.norm_eps,
    act: config.act_fn,
    temb: time(ctx, config),
    context: "encoder_hidden_states",
    transformerLayers: config.transformer_layers_per_block,
    useLinearProjection: config.use_linear_projection,
  };
  // 2. pre-process
  let x = config.center_input_sample ? g.sub(g.mul("sample", 2), 1) : "sample";
  x = conv2d(ctx.at("conv_in"), x, {
    outChannels: p.channels[0]!,
    kernel: config.conv_in_kernel,
  });
  // 3. down
  const skips = [x];
  config.down_block_types.forEach((type, i) => {
    const r = UNET_DOWN_BLOCKS[type](ctx.at(`down_blocks.${i}`), x, {
      ...base,
      outChannels: p.channels[i]!,
      numLayers: p.layers[i]!,
      numHeads: p.heads[i]!,
      addDownsample: i < p.n - 1,
      downsamplePadding: config.downsample_padding,
    });
    x = r.sample;
    skips.push(...r.skips);
  });
  // 4. mid
  x = UNET_MID_BLOCKS[config.mid_block_type](ctx.at("mid_block"), x, {
    ...base,
    outChannels: p.channels[p.n - 1]!,
    numLayers: 1,
    numHeads: p.heads[p.n - 1]!,
    outputScaleFactor: config.mid_block_scale_factor,
  });
  // 5. up
  config.up_block_types.forEach((type, i) => {
    const r = p.n - 1 - i;
    const numLayers = p.layers[r]! + 1;
    x = UNET_UP_BLOCKS[type](ctx.at(`up_blocks.${i}`), x, {
      ...base,
      outChannels: p.channels[r]!,
      numLayers,
      numHeads: p.heads[r]!,
      addUpsample: i < p.n - 1,
      skips: skips.splice(skips.length - numLayers, numLayers),
    });
  });
  // 6. post-process
  x = groupNorm(ctx.at("conv_norm_out"), x, {
    groups: config.norm_num_groups,
    eps: config.norm_eps,
  });
  x = conv2d(ctx.at("conv_out"), activation(g, config.act_fn, x), {
    outChannels: config.out_channels,
    kernel: config.conv_out_kernel,
  });
  return finish({ out_sample: x });
}

/** 1. time: sinusoid of the timestep, then TimestepEmbedding → temb [B, 4·C0]. */
function time(ctx: BlockContext, c: UNetConfig): string {
  const c0 = c.block_out_channels[0]!;
  const emb = timestepSinusoid(ctx.g, "timestep", {
    dim: c0,
    flipSinToCos: c.flip_sin_to_cos,
    freqShift: c.freq_shift,
  });
  return timestepEmbedding(ctx.at("time_embedding"), emb, c.time_embedding_dim ?? 4 * c0, c.act_fn);
}
