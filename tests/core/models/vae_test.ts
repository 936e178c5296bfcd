import assert from "node:assert/strict";
import { openSafetensors } from "../../../core/models/checkpoint.ts";
import { parseVaeConfig } from "../../../core/models/config.ts";
import { buildVaeDecoder, buildVaeEncoder, vaeScale } from "../../../core/models/vae.ts";
import { maxAbsErr, REF, refRows, rows, runOnce, SD2 } from "./_sd_fixture.ts";

const raw = JSON.parse(await Deno.readTextFile(`${SD2}/vae/config.json`));
const config = parseVaeConfig(raw);
const weights = await openSafetensors(SD2, "vae", "diffusion_pytorch_model.safetensors");
const ref = REF.vae;
const TOL = 1e-4;

Deno.test("buildVaeDecoder() reproduces diffusers' decode at batch 1 and 2", async () => {
  const model = buildVaeDecoder(config, weights, SD2);
  assert.deepEqual(model.graph.inputs[0]!.shape, ["batch", 4, 16, 16]);
  assert.deepEqual(model.graph.outputs[0]!.shape, ["batch", 3, 32, 32]);
  let worst = 0;
  for (const picks of [[0], [0, 0]]) {
    const out = await runOnce(
      model,
      { latent_sample: rows(ref.decode_latent_sample, picks) },
      "sample",
    );
    assert.deepEqual(out.dims, [picks.length, 3, 32, 32]);
    worst = Math.max(worst, maxAbsErr(out.data, refRows(ref.decode_sample, picks)));
  }
  console.log(`vae decode max |err| ${worst.toExponential(2)}`);
  assert.ok(worst <= TOL, `max |err| ${worst}`);
});

Deno.test("buildVaeEncoder() reproduces diffusers' posterior mean at batch 1 and 2", async () => {
  const model = buildVaeEncoder(config, weights, SD2);
  assert.deepEqual(model.graph.inputs[0]!.shape, ["batch", 3, 32, 32]);
  assert.deepEqual(model.graph.outputs[0]!.shape, ["batch", 4, 16, 16]);
  assert.ok(model.graph.nodes.some((n) => n.opType === "Pad"), "SD downsample padding (0,1,0,1)");
  let worst = 0;
  for (const picks of [[0], [0, 0]]) {
    const out = await runOnce(model, { sample: rows(ref.encode_sample, picks) }, "latent_sample");
    assert.deepEqual(out.dims, [picks.length, 4, 16, 16]);
    worst = Math.max(worst, maxAbsErr(out.data, refRows(ref.encode_mean, picks)));
  }
  console.log(`vae encode mean max |err| ${worst.toExponential(2)}`);
  assert.ok(worst <= TOL, `max |err| ${worst}`);
});

Deno.test("a batch-2 VAE decode keeps its rows apart", async () => {
  const model = buildVaeDecoder(config, weights, SD2);
  const one = rows(ref.decode_latent_sample, [0]);
  const x = one.data as Float32Array;
  const two = new Float32Array(x.length * 2);
  two.set(x);
  two.set(x.map((v) => -v), x.length);
  const out = await runOnce(
    model,
    { latent_sample: { ...one, dims: [2, 4, 16, 16], data: two } },
    "sample",
  );
  const n = out.data.length / 2;
  assert.ok(maxAbsErr(out.data.subarray(0, n), ref.decode_sample.data) <= TOL);
  assert.ok(maxAbsErr(out.data.subarray(n), ref.decode_sample.data) > 1e-2);
});

Deno.test("vaeScale() is 2^(len(block_out_channels) - 1); other latent sizes build", async () => {
  assert.equal(vaeScale(config), 2);
  const sd = parseVaeConfig({
    block_out_channels: [128, 256, 512, 512],
    down_block_types: new Array(4).fill("DownEncoderBlock2D"),
    up_block_types: new Array(4).fill("UpDecoderBlock2D"),
  });
  assert.equal(vaeScale(sd), 8);
  const enc = buildVaeEncoder(config, weights, SD2, { height: 4, width: 6 });
  assert.deepEqual(enc.graph.inputs[0]!.shape, ["batch", 3, 8, 12]);
  const out = await runOnce(enc, {
    sample: { dtype: "float32", dims: [2, 3, 8, 12], data: new Float32Array(576).fill(0.25) },
  }, "latent_sample");
  assert.deepEqual(out.dims, [2, 4, 4, 6]);
});

Deno.test("buildVaeDecoder() accepts the legacy attention names query/key/value/proj_attn", async () => {
  const legacy = new Map([["to_q", "query"], ["to_k", "key"], ["to_v", "value"], [
    "to_out.0",
    "proj_attn",
  ]]);
  const renamed = {
    label: weights.label,
    tensor(name: string) {
      for (const [now, old] of legacy) {
        if (name.includes(`attentions.0.${now}.`)) return undefined;
        const oldPart = `attentions.0.${old}.`;
        if (name.includes(oldPart)) {
          const t = weights.tensor(name.replace(oldPart, `attentions.0.${now}.`));
          return t && { ...t, name };
        }
      }
      return weights.tensor(name);
    },
  };
  const model = buildVaeDecoder(config, renamed, SD2);
  assert.ok(model.graph.initializers.some((t) => t.name.endsWith("attentions.0.proj_attn.weight")));
  const out = await runOnce(
    model,
    { latent_sample: rows(ref.decode_latent_sample, [0]) },
    "sample",
  );
  assert.ok(maxAbsErr(out.data, ref.decode_sample.data) <= TOL);
});
