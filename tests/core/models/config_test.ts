import assert from "node:assert/strict";
import {
  parseClipTextConfig,
  parseUNetConfig,
  parseVaeConfig,
  perBlock,
} from "../../../core/models/config.ts";
import { SD2 } from "./_sd_fixture.ts";

const read = async (c: string) => JSON.parse(await Deno.readTextFile(`${SD2}/${c}/config.json`));
const unetRaw = await read("unet");
const vaeRaw = await read("vae");
const textRaw = await read("text_encoder");

/** runwayml/stable-diffusion-v1-5 unet/config.json (fields as published). */
const SD15_UNET = {
  _class_name: "UNet2DConditionModel",
  act_fn: "silu",
  attention_head_dim: 8,
  block_out_channels: [320, 640, 1280, 1280],
  center_input_sample: false,
  cross_attention_dim: 768,
  down_block_types: [
    "CrossAttnDownBlock2D",
    "CrossAttnDownBlock2D",
    "CrossAttnDownBlock2D",
    "DownBlock2D",
  ],
  downsample_padding: 1,
  flip_sin_to_cos: true,
  freq_shift: 0,
  in_channels: 4,
  layers_per_block: 2,
  mid_block_scale_factor: 1,
  norm_eps: 1e-5,
  norm_num_groups: 32,
  out_channels: 4,
  sample_size: 64,
  up_block_types: ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
};

Deno.test("parseUNetConfig() reads the fixture, SD 1.5 and SD 2.1 configs with diffusers' defaults", () => {
  const tiny = parseUNetConfig(unetRaw);
  assert.deepEqual(tiny.attention_head_dim, [2, 4]);
  assert.equal(tiny.use_linear_projection, true);
  const sd15 = parseUNetConfig(SD15_UNET);
  assert.equal(sd15.transformer_layers_per_block, 1);
  assert.equal(sd15.use_linear_projection, false);
  assert.equal(sd15.num_attention_heads, null);
  assert.equal(sd15.mid_block_type, "UNetMidBlock2DCrossAttn");
  const sd21 = parseUNetConfig({
    ...SD15_UNET,
    attention_head_dim: [5, 10, 20, 20],
    cross_attention_dim: 1024,
    use_linear_projection: true,
    upcast_attention: true,
    sample_size: 96,
  });
  assert.deepEqual(perBlock(sd21.attention_head_dim, 4), [5, 10, 20, 20]);
  assert.deepEqual(perBlock(sd15.attention_head_dim, 4), [8, 8, 8, 8]);
  assert.deepEqual(
    parseUNetConfig({ ...SD15_UNET, num_attention_heads: 8 }).num_attention_heads,
    8,
  );
});

Deno.test("parseUNetConfig() names the field and value it does not support", () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [
      { down_block_types: ["CrossAttnDownBlock2D", "SimpleCrossAttnDownBlock2D"] },
      /unet config: unsupported down_block_types\[1\] "SimpleCrossAttnDownBlock2D"$/,
    ],
    [
      { up_block_types: ["UpBlock2D", "AttnUpBlock2D"] },
      /unsupported up_block_types\[1\] "AttnUpBlock2D"/,
    ],
    [
      { mid_block_type: "UNetMidBlock2DSimpleCrossAttn" },
      /unsupported mid_block_type "UNetMidBlock2DSimpleCrossAttn"/,
    ],
    [{ only_cross_attention: true }, /unsupported only_cross_attention true/],
    [{ addition_embed_type: "text_time" }, /unsupported addition_embed_type "text_time"/],
    [{ class_embed_type: "timestep" }, /unsupported class_embed_type "timestep"/],
    [{ time_embedding_type: "fourier" }, /unsupported time_embedding_type "fourier"/],
    [
      { resnet_time_scale_shift: "scale_shift" },
      /unsupported resnet_time_scale_shift "scale_shift"/,
    ],
    [{ act_fn: "gelu" }, /unsupported act_fn "gelu"/],
    [
      { transformer_layers_per_block: [1, 2] },
      /unsupported transformer_layers_per_block \[1,2\] \(expected number\)/,
    ],
    [{ dual_cross_attention: true }, /unsupported dual_cross_attention true/],
  ];
  for (const [patch, re] of cases) {
    assert.throws(() => parseUNetConfig({ ...unetRaw, ...patch }), re, JSON.stringify(patch));
  }
});

Deno.test("parseUNetConfig() refuses values out of range, naming the field", () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [
      { norm_num_groups: 24 },
      /unet config: norm_num_groups 24 does not divide block_out_channels\[0\] 32$/,
    ],
    [
      { attention_head_dim: [3, 4] },
      /unet config: attention_head_dim\[0\] 3 heads do not divide block_out_channels\[0\] 32/,
    ],
    [
      { attention_head_dim: [2, 4, 8] },
      /unet config: attention_head_dim has 3 entries but block_out_channels has 2/,
    ],
    [
      { num_attention_heads: 3 },
      /unet config: num_attention_heads 3 heads do not divide block_out_channels\[0\] 32/,
    ],
    [
      { up_block_types: ["UpBlock2D"] },
      /unet config: up_block_types has 1 entries but block_out_channels has 2/,
    ],
    [
      { block_out_channels: [32, "64"] },
      /unet config: unsupported block_out_channels\[1\] "64" \(expected number\)/,
    ],
    [{ norm_eps: -1 }, /unet config: norm_eps -1 is out of range \(Too small/],
    [{ conv_in_kernel: 2 }, /unet config: conv_in_kernel 2 must be odd/],
    [{ sample_size: undefined }, /unet config: sample_size is missing/],
  ];
  for (const [patch, re] of cases) {
    assert.throws(() => parseUNetConfig({ ...unetRaw, ...patch }), re, JSON.stringify(patch));
  }
  assert.throws(() => parseUNetConfig([1]), /unet config: expected a JSON object/);
});

Deno.test("parseVaeConfig() reads the fixture and refuses unsupported or inconsistent fields", () => {
  const vae = parseVaeConfig(vaeRaw);
  assert.equal(vae.scaling_factor, 0.18215);
  assert.equal(vae.use_quant_conv, true);
  assert.equal(parseVaeConfig({ ...vaeRaw, scaling_factor: undefined }).scaling_factor, null);
  const cases: [Record<string, unknown>, RegExp][] = [
    [
      { norm_num_groups: 48 },
      /vae config: norm_num_groups 48 does not divide block_out_channels\[0\] 32$/,
    ],
    [
      { down_block_types: ["DownEncoderBlock2D", "AttnDownEncoderBlock2D"] },
      /vae config: unsupported down_block_types\[1\] "AttnDownEncoderBlock2D"$/,
    ],
    [
      { up_block_types: ["UpDecoderBlock2D"] },
      /vae config: up_block_types has 1 entries but block_out_channels has 2/,
    ],
    [{ shift_factor: 0.1159 }, /vae config: unsupported shift_factor 0.1159/],
    [{ latents_mean: [0, 0, 0, 0] }, /vae config: unsupported latents_mean \[0,0,0,0\]/],
  ];
  for (const [patch, re] of cases) {
    assert.throws(() => parseVaeConfig({ ...vaeRaw, ...patch }), re, JSON.stringify(patch));
  }
});

Deno.test("parseClipTextConfig() reads gelu and quick_gelu and refuses other activations", () => {
  const text = parseClipTextConfig(textRaw);
  assert.equal(text.hidden_act, "gelu");
  assert.equal(text.eos_token_id, 2);
  assert.equal(
    parseClipTextConfig({ ...textRaw, hidden_act: "quick_gelu" }).hidden_act,
    "quick_gelu",
  );
  assert.equal(parseClipTextConfig({}).hidden_act, "quick_gelu");
  assert.throws(
    () => parseClipTextConfig({ ...textRaw, hidden_act: "gelu_new" }),
    /text_encoder config: unsupported hidden_act "gelu_new"$/,
  );
  assert.throws(
    () => parseClipTextConfig({ ...textRaw, num_attention_heads: 5 }),
    /text_encoder config: num_attention_heads 5 heads do not divide hidden_size 32/,
  );
  assert.throws(
    () => parseClipTextConfig({ ...textRaw, layer_norm_eps: 0 }),
    /text_encoder config: layer_norm_eps 0 is out of range/,
  );
});
