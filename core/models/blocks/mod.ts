/**
 * Building blocks of the CLIP text encoder, UNet2DConditionModel and AutoencoderKL
 * graphs, one per file, named after the diffusers/transformers modules they rebuild.
 *
 * @module
 */
export * from "./activation.ts";
export * from "./attention.ts";
export * from "./basic_transformer_block.ts";
export * from "./clip_encoder_layer.ts";
export * from "./context.ts";
export * from "./conv2d.ts";
export * from "./cross_attn_down_block_2d.ts";
export * from "./cross_attn_up_block_2d.ts";
export * from "./down_block_2d.ts";
export * from "./down_encoder_block_2d.ts";
export * from "./downsample.ts";
export * from "./feed_forward.ts";
export * from "./group_norm.ts";
export * from "./layer_norm.ts";
export * from "./linear.ts";
export * from "./mid_block_2d.ts";
export * from "./mid_block_2d_cross_attn.ts";
export * from "./resnet.ts";
export * from "./spatial_attention.ts";
export * from "./timestep_embedding.ts";
export * from "./transformer_2d.ts";
export * from "./unet_block.ts";
export * from "./up_block_2d.ts";
export * from "./up_decoder_block_2d.ts";
export * from "./upsample.ts";
