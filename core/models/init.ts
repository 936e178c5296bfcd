/**
 * Fresh weights for diffusers-layout models trained from scratch (the embedded model):
 * the state-dict names and shapes of UNet2DConditionModel and CLIPTextModel, written from
 * their constructors, and PyTorch's default initialisation.
 *
 * @module
 */
import { type ClipTextConfig, perBlock, type UNetConfig } from "./config.ts";
import type { Rng } from "../random.ts";

/** Tensor name → shape. */
export type Shapes = Map<string, number[]>;

/** diffusers 0.24 UNet2DConditionModel state-dict shapes, written from its __init__. */
export function unetShapes(c: UNetConfig): Shapes {
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

/** transformers CLIPTextModel state-dict shapes. */
export function clipTextShapes(c: ClipTextConfig): Shapes {
  const s: Shapes = new Map();
  const d = c.hidden_size, I = c.intermediate_size;
  s.set("text_model.embeddings.token_embedding.weight", [c.vocab_size, d]);
  s.set("text_model.embeddings.position_embedding.weight", [c.max_position_embeddings, d]);
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const p = `text_model.encoder.layers.${i}`;
    for (const proj of ["q_proj", "k_proj", "v_proj", "out_proj"]) {
      s.set(`${p}.self_attn.${proj}.weight`, [d, d]);
      s.set(`${p}.self_attn.${proj}.bias`, [d]);
    }
    for (const ln of ["layer_norm1", "layer_norm2"]) {
      s.set(`${p}.${ln}.weight`, [d]);
      s.set(`${p}.${ln}.bias`, [d]);
    }
    s.set(`${p}.mlp.fc1.weight`, [I, d]);
    s.set(`${p}.mlp.fc1.bias`, [I]);
    s.set(`${p}.mlp.fc2.weight`, [d, I]);
    s.set(`${p}.mlp.fc2.bias`, [d]);
  }
  s.set("text_model.final_layer_norm.weight", [d]);
  s.set("text_model.final_layer_norm.bias", [d]);
  return s;
}

/**
 * PyTorch's default initialisation for weights: Linear/Conv U(-1/sqrt(fan_in), 1/sqrt(fan_in))
 * (kaiming_uniform with a = sqrt(5)); biases U(-0.01, 0.01) (a bias alone does not know its
 * fan-in); norms weight 1 and bias 0; token/position embeddings N(0, 0.02^2) (transformers).
 */
export function initTensor(name: string, shape: number[], rng: Rng): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const isNorm = /norm|layer_norm/.test(name);
  if (isNorm) return new Float32Array(n).fill(name.endsWith(".weight") ? 1 : 0);
  if (/token_embedding|position_embedding/.test(name)) return rng.normals(n).map((v) => v * 0.02);
  const fanIn = shape.length === 1 ? 0 : shape.slice(1).reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: n }, () => {
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0.01;
    return (rng.uniform() * 2 - 1) * bound;
  });
}
