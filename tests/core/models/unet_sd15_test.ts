/**
 * An SD 1.5-shaped UNet (4 levels, layers_per_block 2, 1x1-conv projections, one head
 * count for all levels) at toy widths. Its tensor list comes from an independent
 * transcription of diffusers' UNet2DConditionModel constructor, checked first against
 * the fixture's real state dict; random weights are then written and the built graph
 * must bind every tensor and give the same rows at batch 1 and 2.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openSafetensors } from "../../../core/models/checkpoint.ts";
import { parseUNetConfig, perBlock, type UNetConfig } from "../../../core/models/config.ts";
import { readSafetensorsIndex } from "../../../core/models/safetensors.ts";
import { buildUNet } from "../../../core/models/unet.ts";
import { maxAbsErr, runOnce, SD2, writeSafetensors } from "./_sd_fixture.ts";

type Shapes = Map<string, number[]>;

/** diffusers 0.24 UNet2DConditionModel state-dict shapes, written from its __init__. */
function diffusersShapes(c: UNetConfig): Shapes {
  const s: Shapes = new Map();
  const put = (name: string, shape: number[]) => s.set(name, shape);
  const lin = (p: string, out: number, inp: number, bias = true) => {
    put(`${p}.weight`, [out, inp]);
    if (bias) put(`${p}.bias`, [out]);
  };
  const conv = (p: string, out: number, inp: number, k: number) => {
    put(`${p}.weight`, [out, inp, k, k]);
    put(`${p}.bias`, [out]);
  };
  const norm = (p: string, ch: number) => (put(`${p}.weight`, [ch]), put(`${p}.bias`, [ch]));
  const n = c.block_out_channels.length;
  const ch = c.block_out_channels;
  const c0 = ch[0]!;
  const ted = c0 * 4;
  const cross = perBlock(c.cross_attention_dim, n)[0]!;
  const layers = perBlock(c.layers_per_block, n);
  const resnet = (p: string, inp: number, out: number) => {
    norm(`${p}.norm1`, inp);
    conv(`${p}.conv1`, out, inp, 3);
    lin(`${p}.time_emb_proj`, out, ted);
    norm(`${p}.norm2`, out);
    conv(`${p}.conv2`, out, out, 3);
    if (inp !== out) conv(`${p}.conv_shortcut`, out, inp, 1);
  };
  const transformer = (p: string, cc: number) => {
    norm(`${p}.norm`, cc);
    const proj = (q: string) => c.use_linear_projection ? lin(q, cc, cc) : conv(q, cc, cc, 1);
    proj(`${p}.proj_in`);
    const b = `${p}.transformer_blocks.0`;
    for (const a of ["attn1", "attn2"]) {
      const kv = a === "attn1" ? cc : cross;
      lin(`${b}.${a}.to_q`, cc, cc, false);
      lin(`${b}.${a}.to_k`, cc, kv, false);
      lin(`${b}.${a}.to_v`, cc, kv, false);
      lin(`${b}.${a}.to_out.0`, cc, cc);
    }
    for (const k of ["norm1", "norm2", "norm3"]) norm(`${b}.${k}`, cc);
    lin(`${b}.ff.net.0.proj`, 8 * cc, cc);
    lin(`${b}.ff.net.2`, cc, 4 * cc);
    proj(`${p}.proj_out`);
  };
  conv("conv_in", c0, c.in_channels, c.conv_in_kernel);
  lin("time_embedding.linear_1", ted, c0);
  lin("time_embedding.linear_2", ted, ted);
  let out = c0;
  c.down_block_types.forEach((t, i) => {
    const inp = out;
    out = ch[i]!;
    for (let j = 0; j < layers[i]!; j++) {
      resnet(`down_blocks.${i}.resnets.${j}`, j === 0 ? inp : out, out);
      if (t === "CrossAttnDownBlock2D") transformer(`down_blocks.${i}.attentions.${j}`, out);
    }
    if (i < n - 1) conv(`down_blocks.${i}.downsamplers.0.conv`, out, out, 3);
  });
  resnet("mid_block.resnets.0", ch[n - 1]!, ch[n - 1]!);
  transformer("mid_block.attentions.0", ch[n - 1]!);
  resnet("mid_block.resnets.1", ch[n - 1]!, ch[n - 1]!);
  const rch = [...ch].reverse();
  const rl = [...layers].reverse();
  out = rch[0]!;
  c.up_block_types.forEach((t, i) => {
    const prev = out;
    out = rch[i]!;
    const inp = rch[Math.min(i + 1, n - 1)]!;
    const num = rl[i]! + 1;
    for (let j = 0; j < num; j++) {
      const skip = j === num - 1 ? inp : out;
      resnet(`up_blocks.${i}.resnets.${j}`, (j === 0 ? prev : out) + skip, out);
      if (t === "CrossAttnUpBlock2D") transformer(`up_blocks.${i}.attentions.${j}`, out);
    }
    if (i < n - 1) conv(`up_blocks.${i}.upsamplers.0.conv`, out, out, 3);
  });
  norm("conv_norm_out", c0);
  conv("conv_out", c.out_channels, c0, c.conv_out_kernel);
  return s;
}

Deno.test("the diffusers shape transcription reproduces the fixture's UNet state dict", async () => {
  const raw = JSON.parse(await Deno.readTextFile(`${SD2}/unet/config.json`));
  const index = await readSafetensorsIndex(`${SD2}/unet/diffusion_pytorch_model.safetensors`);
  const stored = new Map([...index.tensors].map(([k, e]) => [k, e.shape]));
  const want = diffusersShapes(parseUNetConfig(raw));
  assert.deepEqual([...want].sort(), [...stored].sort());
});

Deno.test("an SD 1.5-shaped UNet binds every tensor and is batch-agnostic", async () => {
  const config = parseUNetConfig({
    sample_size: 16,
    block_out_channels: [16, 32, 32, 32],
    norm_num_groups: 8,
    attention_head_dim: 4,
    cross_attention_dim: 24,
    layers_per_block: 2,
  });
  const shapes = diffusersShapes(config);
  const dir = await Deno.makeTempDir();
  try {
    let seed = 1;
    const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 0.2;
    const entries = [...shapes].map(([name, shape]) => {
      const n = shape.reduce((a, b) => a * b, 1);
      const f = Float32Array.from({ length: n }, () => (name.endsWith("norm.weight") ? 1 : rand()));
      return { name, dtype: "F32" as const, shape, bytes: new Uint8Array(f.buffer) };
    });
    await writeSafetensors(join(dir, "unet", "diffusion_pytorch_model.safetensors"), entries);
    const weights = await openSafetensors(dir, "unet", "diffusion_pytorch_model.safetensors");
    const model = buildUNet(config, weights, dir, { seqLength: 7 });
    const bound = model.graph.initializers.filter((t) => t.external).map((t) => t.name);
    assert.deepEqual(bound.sort(), [...shapes.keys()].sort());
    const feeds = (b: number) => ({
      sample: {
        dtype: "float32" as const,
        dims: [b, 4, 16, 16],
        data: Float32Array.from({ length: b * 1024 }, rand),
      },
      timestep: {
        dtype: "float32" as const,
        dims: [b],
        data: Float32Array.from({ length: b }, (_, i) => 100 + 400 * i),
      },
      encoder_hidden_states: {
        dtype: "float32" as const,
        dims: [b, 7, 24],
        data: Float32Array.from({ length: b * 168 }, rand),
      },
    });
    const two = feeds(2);
    const out2 = await runOnce(model, two, "out_sample");
    const one = {
      sample: { ...two.sample, dims: [1, 4, 16, 16], data: two.sample.data.slice(1024) },
      timestep: { ...two.timestep, dims: [1], data: two.timestep.data.slice(1) },
      encoder_hidden_states: {
        ...two.encoder_hidden_states,
        dims: [1, 7, 24],
        data: two.encoder_hidden_states.data.slice(168),
      },
    };
    const out1 = await runOnce(model, one, "out_sample");
    assert.deepEqual(out1.dims, [1, 4, 16, 16]);
    assert.ok(out1.data.every(Number.isFinite));
    assert.ok(maxAbsErr(out2.data.subarray(1024), out1.data) < 1e-5);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
