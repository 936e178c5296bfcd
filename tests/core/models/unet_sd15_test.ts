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
import { parseUNetConfig } from "../../../core/models/config.ts";
import { readSafetensorsIndex } from "../../../core/models/safetensors.ts";
import { buildUNet } from "../../../core/models/unet.ts";
import { unetShapes as diffusersShapes } from "../../../core/models/init.ts";
import { maxAbsErr, runOnce, SD2, writeSafetensors } from "./_sd_fixture.ts";

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
