/**
 * The config.json files of a diffusers checkpoint, parsed by zod: CLIPTextConfig
 * (transformers), UNet2DConditionModel and AutoencoderKL (diffusers). Defaults are the
 * libraries' own; every value the graph builders cannot honour is refused with an error
 * naming the field and the value, e.g.
 * `unet config: unsupported down_block_types[1] "SimpleCrossAttnDownBlock2D"`.
 *
 * @module
 */
import { z } from "zod";

const posInt = z.number().int().positive();
const posNum = z.number().positive();
const intOrList = z.union([posInt, z.array(posInt).min(1)]);
/** A field the builders only support when null or absent. */
const none = z.literal(null).optional();

/** transformers CLIPTextConfig (the fields a projection-free CLIPTextModel uses). */
export const ClipTextConfigSchema = z.object({
  vocab_size: posInt.default(49408),
  hidden_size: posInt.default(512),
  intermediate_size: posInt.default(2048),
  num_hidden_layers: posInt.default(12),
  num_attention_heads: posInt.default(8),
  max_position_embeddings: posInt.default(77),
  hidden_act: z.enum(["gelu", "quick_gelu"]).default("quick_gelu"),
  layer_norm_eps: posNum.default(1e-5),
  eos_token_id: z.number().int().nonnegative().default(49407),
}).superRefine((c, ctx) => {
  if (c.hidden_size % c.num_attention_heads !== 0) {
    ctx.addIssue({
      code: "custom",
      path: ["num_attention_heads"],
      message: `${c.num_attention_heads} heads do not divide hidden_size ${c.hidden_size}`,
    });
  }
});

/** A parsed CLIPTextConfig. */
export type ClipTextConfig = z.output<typeof ClipTextConfigSchema>;

/** UNet down-block types the builder supports. */
export const UNET_DOWN_BLOCK_TYPES = ["CrossAttnDownBlock2D", "DownBlock2D"] as const;
/** UNet up-block types the builder supports. */
export const UNET_UP_BLOCK_TYPES = ["CrossAttnUpBlock2D", "UpBlock2D"] as const;
/** A supported UNet down-block type. */
export type UNetDownBlockType = (typeof UNET_DOWN_BLOCK_TYPES)[number];
/** A supported UNet up-block type. */
export type UNetUpBlockType = (typeof UNET_UP_BLOCK_TYPES)[number];

/** diffusers UNet2DConditionModel config (SD 1.x/2.x subset). */
export const UNetConfigSchema = z.object({
  sample_size: posInt,
  in_channels: posInt.default(4),
  out_channels: posInt.default(4),
  center_input_sample: z.boolean().default(false),
  flip_sin_to_cos: z.boolean().default(true),
  freq_shift: z.number().default(0),
  down_block_types: z.array(z.enum(UNET_DOWN_BLOCK_TYPES)).min(1)
    .default([
      "CrossAttnDownBlock2D",
      "CrossAttnDownBlock2D",
      "CrossAttnDownBlock2D",
      "DownBlock2D",
    ]),
  mid_block_type: z.enum(["UNetMidBlock2DCrossAttn"]).default("UNetMidBlock2DCrossAttn"),
  up_block_types: z.array(z.enum(UNET_UP_BLOCK_TYPES)).min(1)
    .default(["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]),
  only_cross_attention: z.union([z.literal(false), z.array(z.literal(false))]).default(false),
  block_out_channels: z.array(posInt).min(1).default([320, 640, 1280, 1280]),
  layers_per_block: intOrList.default(2),
  downsample_padding: z.number().int().nonnegative().default(1),
  mid_block_scale_factor: posNum.default(1),
  act_fn: z.enum(["silu"]).default("silu"),
  norm_num_groups: posInt.default(32),
  norm_eps: posNum.default(1e-5),
  cross_attention_dim: intOrList.default(1280),
  transformer_layers_per_block: posInt.default(1),
  reverse_transformer_layers_per_block: none,
  attention_head_dim: intOrList.default(8),
  num_attention_heads: z.union([z.null(), intOrList]).default(null),
  dual_cross_attention: z.literal(false).default(false),
  use_linear_projection: z.boolean().default(false),
  upcast_attention: z.boolean().nullable().default(false),
  resnet_time_scale_shift: z.enum(["default"]).default("default"),
  resnet_skip_time_act: z.literal(false).default(false),
  time_embedding_type: z.enum(["positional"]).default("positional"),
  time_embedding_dim: z.union([z.null(), posInt]).default(null),
  time_embedding_act_fn: none,
  timestep_post_act: none,
  time_cond_proj_dim: none,
  conv_in_kernel: posInt.default(3),
  conv_out_kernel: posInt.default(3),
  encoder_hid_dim: none,
  encoder_hid_dim_type: none,
  class_embed_type: none,
  num_class_embeds: none,
  addition_embed_type: none,
  addition_time_embed_dim: none,
  projection_class_embeddings_input_dim: none,
  class_embeddings_concat: z.literal(false).default(false),
  mid_block_only_cross_attention: z.union([z.null(), z.literal(false)]).default(null),
  cross_attention_norm: none,
  attention_type: z.enum(["default"]).default("default"),
}).superRefine((c, ctx) => {
  const n = c.block_out_channels.length;
  const issue = (path: (string | number)[], message: string) =>
    ctx.addIssue({ code: "custom", path, message });
  for (const key of ["down_block_types", "up_block_types"] as const) {
    if (c[key].length !== n) {
      issue([key], `has ${c[key].length} entries but block_out_channels has ${n}`);
    }
  }
  const lists = [
    "layers_per_block",
    "cross_attention_dim",
    "attention_head_dim",
    "num_attention_heads",
    "only_cross_attention",
  ] as const;
  for (const key of lists) {
    const v = c[key];
    if (Array.isArray(v) && v.length !== n) {
      issue([key], `has ${v.length} entries but block_out_channels has ${n}`);
    }
  }
  for (const key of ["conv_in_kernel", "conv_out_kernel"] as const) {
    if (c[key] % 2 === 0) issue([key], `${c[key]} must be odd`);
  }
  c.block_out_channels.forEach((ch, i) => {
    if (ch % c.norm_num_groups !== 0) {
      issue(
        ["norm_num_groups"],
        `${c.norm_num_groups} does not divide block_out_channels[${i}] ${ch}`,
      );
    }
  });
  const headsKey = c.num_attention_heads === null ? "attention_head_dim" : "num_attention_heads";
  const heads = c.num_attention_heads ?? c.attention_head_dim;
  const used = new Set<number>([n - 1]);
  c.down_block_types.forEach((t, i) => t === "CrossAttnDownBlock2D" && used.add(i));
  c.up_block_types.forEach((t, i) => t === "CrossAttnUpBlock2D" && used.add(n - 1 - i));
  for (const i of [...used].sort()) {
    const h = perBlock(heads, n)[i]!;
    const ch = c.block_out_channels[i];
    if (ch !== undefined && ch % h !== 0) {
      const path = Array.isArray(heads) ? [headsKey, i] : [headsKey];
      issue(path, `${h} heads do not divide block_out_channels[${i}] ${ch}`);
    }
  }
});

/** A parsed UNet2DConditionModel config. */
export type UNetConfig = z.output<typeof UNetConfigSchema>;

/** diffusers AutoencoderKL config. */
export const VaeConfigSchema = z.object({
  in_channels: posInt.default(3),
  out_channels: posInt.default(3),
  down_block_types: z.array(z.enum(["DownEncoderBlock2D"])).min(1).default(["DownEncoderBlock2D"]),
  up_block_types: z.array(z.enum(["UpDecoderBlock2D"])).min(1).default(["UpDecoderBlock2D"]),
  block_out_channels: z.array(posInt).min(1).default([64]),
  layers_per_block: posInt.default(1),
  act_fn: z.enum(["silu"]).default("silu"),
  latent_channels: posInt.default(4),
  norm_num_groups: posInt.default(32),
  sample_size: posInt.default(32),
  scaling_factor: posNum.nullable().default(null),
  shift_factor: none,
  latents_mean: none,
  latents_std: none,
  use_quant_conv: z.boolean().default(true),
  use_post_quant_conv: z.boolean().default(true),
  mid_block_add_attention: z.boolean().default(true),
}).superRefine((c, ctx) => {
  const n = c.block_out_channels.length;
  for (const key of ["down_block_types", "up_block_types"] as const) {
    if (c[key].length !== n) {
      ctx.addIssue({
        code: "custom",
        path: [key],
        message: `has ${c[key].length} entries but block_out_channels has ${n}`,
      });
    }
  }
  c.block_out_channels.forEach((ch, i) => {
    if (ch % c.norm_num_groups !== 0) {
      ctx.addIssue({
        code: "custom",
        path: ["norm_num_groups"],
        message: `${c.norm_num_groups} does not divide block_out_channels[${i}] ${ch}`,
      });
    }
  });
});

/** A parsed AutoencoderKL config. */
export type VaeConfig = z.output<typeof VaeConfigSchema>;

/**
 * A per-block config value (a number meaning "the same for every block") as a list of `n`.
 * @example
 * ```ts
 * import { perBlock } from "./config.ts";
 * console.assert(perBlock(8, 3).join() === "8,8,8");
 * ```
 */
export function perBlock<T>(v: T | T[], n: number): T[] {
  return Array.isArray(v) ? [...v] : Array.from({ length: n }, () => v);
}

function pathText(path: readonly PropertyKey[]): string {
  let s = "";
  for (const p of path) s += typeof p === "number" ? `[${p}]` : s ? `.${String(p)}` : String(p);
  return s || "(root)";
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v = raw;
  for (const p of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

function parseWith<S extends z.ZodType>(schema: S, what: string, raw: unknown): z.output<S> {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new Error(`${what} config: expected a JSON object`);
  }
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const where = pathText(issue.path);
  const value = valueAt(raw, issue.path);
  if (value === undefined) throw new Error(`${what} config: ${where} is missing`);
  const shown = JSON.stringify(value);
  if (issue.code === "custom") throw new Error(`${what} config: ${where} ${issue.message}`);
  if (issue.code === "invalid_type") {
    throw new Error(`${what} config: unsupported ${where} ${shown} (expected ${issue.expected})`);
  }
  if (issue.code === "invalid_value" || issue.code === "invalid_union") {
    throw new Error(`${what} config: unsupported ${where} ${shown}`);
  }
  throw new Error(`${what} config: ${where} ${shown} is out of range (${issue.message})`);
}

/**
 * Parses a text_encoder/config.json object.
 * @throws Error `text_encoder config: ...` naming the field and value.
 * @example
 * ```ts
 * const c = parseClipTextConfig({ hidden_size: 32, num_attention_heads: 4, hidden_act: "gelu" });
 * console.assert(c.max_position_embeddings === 77);
 * ```
 */
export function parseClipTextConfig(raw: unknown): ClipTextConfig {
  return parseWith(ClipTextConfigSchema, "text_encoder", raw);
}

/**
 * Parses a unet/config.json object.
 * @throws Error `unet config: ...` naming the field and value.
 * @example
 * ```ts
 * const c = parseUNetConfig({ sample_size: 64 });
 * console.assert(c.block_out_channels.length === 4);
 * ```
 */
export function parseUNetConfig(raw: unknown): UNetConfig {
  return parseWith(UNetConfigSchema, "unet", raw);
}

/**
 * Parses a vae/config.json object.
 * @throws Error `vae config: ...` naming the field and value.
 * @example
 * ```ts
 * const c = parseVaeConfig({ block_out_channels: [128] });
 * console.assert(c.latent_channels === 4 && c.down_block_types[0] === "DownEncoderBlock2D");
 * ```
 */
export function parseVaeConfig(raw: unknown): VaeConfig {
  return parseWith(VaeConfigSchema, "vae", raw);
}
