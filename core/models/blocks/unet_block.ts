/**
 * The shared signatures of the UNet's and VAE's composite blocks, so that unet.ts and
 * vae.ts pick them from typed tables by their diffusers class names.
 *
 * @module
 */
import type { Activation } from "./activation.ts";
import type { BlockContext } from "./context.ts";

/** Arguments every composite block takes. */
export interface BlockArgs {
  outChannels: number;
  /** Resnets in the block (`layers_per_block`, +1 in up blocks). */
  numLayers: number;
  groups: number;
  eps: number;
  act: Activation;
  /** Time embedding [B, T]; undefined in the VAE. */
  temb?: string;
  /** Cross-attention context [B, M, cross_dim] (cross-attention blocks only). */
  context?: string;
  /** Attention heads (cross-attention blocks only). */
  numHeads?: number;
  /** BasicTransformerBlocks per Transformer2DModel (cross-attention blocks only). */
  transformerLayers?: number;
  /** Linear rather than 1x1-conv proj_in/proj_out (cross-attention blocks only). */
  useLinearProjection?: boolean;
}

/** Arguments of down blocks. */
export interface DownBlockArgs extends BlockArgs {
  addDownsample: boolean;
  /** The downsampler conv's padding (0: pad (0, 1, 0, 1) first). */
  downsamplePadding: number;
}

/** A down block's output and the states it hands to the up path, in order. */
export interface DownBlockResult {
  sample: string;
  skips: string[];
}

/** Arguments of up blocks. */
export interface UpBlockArgs extends BlockArgs {
  addUpsample: boolean;
  /** Skip states from the down path, in down order; consumed from the end (none in the VAE). */
  skips: string[];
}

/** Arguments of mid blocks. */
export interface MidBlockArgs extends BlockArgs {
  /** Divides each resnet's output (`mid_block_scale_factor`). */
  outputScaleFactor: number;
}

/** A down block builder. */
export type DownBlockFn = (ctx: BlockContext, x: string, a: DownBlockArgs) => DownBlockResult;
/** An up block builder. */
export type UpBlockFn = (ctx: BlockContext, x: string, a: UpBlockArgs) => string;
/** A mid block builder. */
export type MidBlockFn = (ctx: BlockContext, x: string, a: MidBlockArgs) => string;

/**
 * The Transformer2DModel options of a cross-attention block, checked.
 * @throws Error when the context or head count is missing or the heads do not divide the channels.
 * @example
 * ```ts ignore
 * const t = crossAttnOptions(args, 320, "down_blocks.0.");
 * ```
 */
export function crossAttnOptions(a: BlockArgs, channels: number, where: string): {
  context: string;
  numHeads: number;
  headDim: number;
  groups: number;
  useLinearProjection: boolean;
  numLayers: number;
} {
  if (a.context === undefined || a.numHeads === undefined) {
    throw new Error(`${where}: a cross-attention block needs a context and a head count`);
  }
  if (channels % a.numHeads !== 0) {
    throw new Error(`${where}: ${a.numHeads} heads do not divide ${channels} channels`);
  }
  return {
    context: a.context,
    numHeads: a.numHeads,
    headDim: channels / a.numHeads,
    groups: a.groups,
    useLinearProjection: a.useLinearProjection ?? false,
    numLayers: a.transformerLayers ?? 1,
  };
}
