import assert from "node:assert/strict";
import { join } from "node:path";
import { openSafetensors } from "../../../core/models/checkpoint.ts";
import { parseUNetConfig } from "../../../core/models/config.ts";
import { readSafetensorsIndex } from "../../../core/models/safetensors.ts";
import { buildUNet } from "../../../core/models/unet.ts";
import type { HostTensor } from "../../../core/onnx/runtime.ts";
import { maxAbsErr, REF, refRows, rows, runOnce, SD2, writeSafetensors } from "./_sd_fixture.ts";

const raw = JSON.parse(await Deno.readTextFile(`${SD2}/unet/config.json`));
const config = parseUNetConfig(raw);
const FILE = "diffusion_pytorch_model.safetensors";
const weights = await openSafetensors(SD2, "unet", FILE);
const ref = REF.unet;
const TOL = 1e-4;

function feeds(picks: number[]): Record<string, HostTensor> {
  return {
    sample: rows(ref.sample, picks),
    timestep: rows({ ...ref.timestep, dtype: "float32" }, picks),
    encoder_hidden_states: rows(ref.encoder_hidden_states, picks),
  };
}

Deno.test("buildUNet() reproduces diffusers' out_sample at batch 2 and 1", async () => {
  const model = buildUNet(config, weights, SD2);
  assert.deepEqual(model.graph.inputs.map((v) => v.shape), [
    ["batch", 4, 16, 16],
    ["batch"],
    ["batch", 77, 32],
  ]);
  assert.deepEqual(model.graph.outputs.map((v) => [v.name, v.shape]), [
    ["out_sample", ["batch", 4, 16, 16]],
  ]);
  let worst = 0;
  for (const picks of [[0, 1], [0], [1]]) {
    const out = await runOnce(model, feeds(picks), "out_sample");
    assert.deepEqual(out.dims, [picks.length, 4, 16, 16]);
    worst = Math.max(worst, maxAbsErr(out.data, refRows(ref.out_sample, picks)));
  }
  console.log(`unet max |err| ${worst.toExponential(2)}`);
  assert.ok(worst <= TOL, `max |err| ${worst}`);
});

Deno.test("buildUNet() builds for another latent size and refuses one that does not halve", async () => {
  const model = buildUNet(config, weights, SD2, { height: 8, width: 12, seqLength: 5 });
  const out = await runOnce(model, {
    sample: {
      dtype: "float32",
      dims: [2, 4, 8, 12],
      data: new Float32Array(2 * 4 * 8 * 12).fill(0.5),
    },
    timestep: { dtype: "float32", dims: [2], data: Float32Array.from([1, 999]) },
    encoder_hidden_states: {
      dtype: "float32",
      dims: [2, 5, 32],
      data: new Float32Array(320).fill(0.1),
    },
  }, "out_sample");
  assert.deepEqual(out.dims, [2, 4, 8, 12]);
  assert.ok(out.data.every(Number.isFinite));
  assert.throws(
    () => buildUNet(config, weights, SD2, { height: 15 }),
    /unet: latent size 15x16 is not divisible by 2/,
  );
});

Deno.test("openSafetensors() reads sharded weights through the .index.json", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const src = `${SD2}/unet/${FILE}`;
    const index = await readSafetensorsIndex(src);
    const file = await Deno.readFile(src);
    const names = [...index.tensors.keys()];
    const weightMap: Record<string, string> = {};
    for (const [k, part] of [names.slice(0, 100), names.slice(100)].entries()) {
      const shard = `diffusion_pytorch_model-0000${k + 1}-of-00002.safetensors`;
      await writeSafetensors(
        join(dir, "unet", shard),
        part.map((name) => {
          const e = index.tensors.get(name)!;
          weightMap[name] = shard;
          return {
            name,
            dtype: "F32",
            shape: e.shape,
            bytes: file.slice(e.offset, e.offset + e.length),
          };
        }),
      );
    }
    await Deno.writeTextFile(
      join(dir, "unet", `${FILE}.index.json`),
      JSON.stringify({ metadata: {}, weight_map: weightMap }),
    );
    const sharded = await openSafetensors(dir, "unet", FILE);
    assert.equal(sharded.label, `unet/${FILE}.index.json`);
    const model = buildUNet(config, sharded, dir);
    const locations = new Set(model.graph.initializers.flatMap((t) => t.external?.location ?? []));
    assert.deepEqual([...locations].sort(), [
      "unet/diffusion_pytorch_model-00001-of-00002.safetensors",
      "unet/diffusion_pytorch_model-00002-of-00002.safetensors",
    ]);
    const out = await runOnce(model, feeds([1]), "out_sample");
    assert.ok(maxAbsErr(out.data, refRows(ref.out_sample, [1])) <= TOL);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("use_linear_projection false: 1x1-conv proj_in/proj_out give the same output", async () => {
  // A Linear [C, C] and a 1x1 conv [C, C, 1, 1] hold the same bytes and compute the same map.
  const asConv = {
    label: weights.label,
    tensor(name: string) {
      const t = weights.tensor(name);
      return t && /attentions\.\d+\.proj_(in|out)\.weight$/.test(name)
        ? { ...t, dims: [...t.dims, 1, 1] }
        : t;
    },
  };
  const model = buildUNet(parseUNetConfig({ ...raw, use_linear_projection: false }), asConv, SD2);
  assert.ok(
    model.graph.initializers.some((t) => t.name.endsWith("proj_in.weight") && t.dims.length === 4),
  );
  const out = await runOnce(model, feeds([0, 1]), "out_sample");
  assert.ok(maxAbsErr(out.data, ref.out_sample.data) <= TOL);
});

Deno.test("buildUNet() names the tensor when the checkpoint does not fit the config", () => {
  const wide = parseUNetConfig({ ...raw, block_out_channels: [64, 64] });
  assert.throws(
    () => buildUNet(wide, weights, SD2),
    /unet\/diffusion_pytorch_model\.safetensors: tensor 'time_embedding\.linear_1\.weight' has shape \[128,32\], the config implies \[256,64\]/,
  );
  const conv = parseUNetConfig({ ...raw, use_linear_projection: false });
  assert.throws(
    () => buildUNet(conv, weights, SD2),
    /tensor 'down_blocks\.0\.attentions\.0\.proj_in\.weight' has shape \[32,32\], the config implies \[32,32,1,1\]/,
  );
  const missing = { label: "x.safetensors", tensor: () => undefined };
  assert.throws(
    () => buildUNet(config, missing, SD2),
    /x\.safetensors: missing tensor 'time_embedding\.linear_1\.weight'/,
  );
});
