/** The ONNX-export route: folders loaded as they are reproduce the references. */
import assert from "node:assert/strict";
import { loadOnnxFolder } from "../../../core/models/onnx_folder.ts";
import { tensorBytes } from "../../../core/onnx/model.ts";
import { type HostTensor, Session } from "../../../core/onnx/runtime.ts";
import type { Model } from "../../../core/onnx/types.ts";
import { FIXTURES, host, type JsonArray, readJson } from "../../helpers/fixtures.ts";

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(Number(a[i]) - Number(b[i])));
  return m;
}

async function run1(model: Model, feeds: Record<string, HostTensor>): Promise<Float32Array> {
  const s = await Session.create(model);
  const r = await s.run(feeds);
  await s.release();
  return r[s.outputNames[0]!]!.data as Float32Array;
}

const ids32 = (a: JsonArray): HostTensor => ({
  dtype: "int32",
  dims: a.shape,
  data: Int32Array.from(a.data),
});

/** inputs_embeds rows looked up from the token table, in TypeScript. */
async function lookup(graphs: Awaited<ReturnType<typeof loadOnnxFolder>>, ids: JsonArray) {
  const table = new Float32Array(
    (await tensorBytes(graphs.tokenEmbedding, graphs.tokenEmbeddingBaseDir)).slice().buffer,
  );
  const d = graphs.info.hiddenSize;
  const out = new Float32Array(ids.data.length * d);
  ids.data.forEach((id, i) => out.set(table.subarray(id * d, id * d + d), i * d));
  return { dtype: "float32", dims: [...ids.shape, d], data: out } as HostTensor;
}

Deno.test("diffusers ONNX export folder reproduces reference.json (text, embeds cut, UNet, VAE)", async () => {
  type Ref = {
    text_encoder: Record<string, JsonArray>;
    unet: Record<string, JsonArray>;
    vae: Record<string, JsonArray>;
  };
  const ref = await readJson<Ref>("diffusers-tiny-sd2/reference.json");
  const g = await loadOnnxFolder(`${FIXTURES}diffusers-tiny-sd2/onnx`, { latentSize: 16 });
  assert.deepEqual(g.info, {
    maxLength: 77,
    hiddenSize: 32,
    latentChannels: 4,
    latentSize: 16,
    vaeScale: 2,
    scalingFactor: 0.18215,
  });
  const want = ref.text_encoder.last_hidden_state!.data;
  const text = await run1(g.textEncoder, { input_ids: ids32(ref.text_encoder.input_ids!) });
  const viaEmbeds = await run1(g.textEncoderEmbeds, {
    inputs_embeds: await lookup(g, ref.text_encoder.input_ids!),
  });
  const unet = await run1(g.unet, {
    sample: host(ref.unet.sample!),
    timestep: { dtype: "float32", dims: [2], data: Float32Array.from(ref.unet.timestep!.data) },
    encoder_hidden_states: host(ref.unet.encoder_hidden_states!),
  });
  const dec = await run1(g.vaeDecoder!, { latent_sample: host(ref.vae.decode_latent_sample!) });
  const enc = await run1(g.vaeEncoder!, { sample: host(ref.vae.encode_sample!) });
  const errors = {
    text: maxAbs(text, want),
    embeds: maxAbs(viaEmbeds, want),
    unet: maxAbs(unet, ref.unet.out_sample!.data),
    vaeDecoder: maxAbs(dec, ref.vae.decode_sample!.data),
    vaeEncoder: maxAbs(enc, ref.vae.encode_mean!.data),
  };
  console.log("max abs error", errors);
  for (const [k, e] of Object.entries(errors)) assert.ok(e <= 1e-4, `${k}: ${e}`);
});

Deno.test("sd-tiny-torch folder: the cut text encoder equals the exported embeds graph", async () => {
  type Cases = {
    text_encoder: {
      inputs: { input_ids: JsonArray };
      outputs_f64: { last_hidden_state: JsonArray };
    }[];
    text_encoder_embeds: {
      inputs: { inputs_embeds: JsonArray };
      outputs_f64: { last_hidden_state: JsonArray };
    }[];
  };
  const cases = await readJson<Cases>("sd-tiny-torch/cases.json");
  const g = await loadOnnxFolder(`${FIXTURES}sd-tiny-torch`, { latentSize: 16 });
  for (const c of cases.text_encoder_embeds) {
    const out = await run1(g.textEncoderEmbeds, { inputs_embeds: host(c.inputs.inputs_embeds) });
    const e = maxAbs(out, c.outputs_f64.last_hidden_state.data);
    assert.ok(e <= 1e-4, `embeds: ${e}`);
  }
  for (const c of cases.text_encoder) {
    const ids = c.inputs.input_ids;
    const a = await run1(g.textEncoder, { input_ids: ids32(ids) });
    const b = await run1(g.textEncoderEmbeds, { inputs_embeds: await lookup(g, ids) });
    assert.ok(maxAbs(a, c.outputs_f64.last_hidden_state.data) <= 1e-4);
    assert.ok(maxAbs(b, c.outputs_f64.last_hidden_state.data) <= 1e-4);
  }
});

Deno.test("sd-tiny-torch folder: UNet and VAE through the ONNX route match the torch references", async () => {
  type Io = { inputs: Record<string, JsonArray>; outputs_f64: Record<string, JsonArray> };
  const cases = await readJson<{ unet: Io[] }>("sd-tiny-torch/cases.json");
  const vae = await readJson<{ vae_decoder: Io[]; vae_encoder: Io[] }>(
    "sd-tiny-torch/vae_cases.json",
  );
  const g = await loadOnnxFolder(`${FIXTURES}sd-tiny-torch`, { latentSize: 16 });
  assert.equal(g.info.vaeScale, 2);
  let worst = { unet: 0, vaeDecoder: 0, vaeEncoder: 0 };
  for (const c of cases.unet) {
    const out = await run1(g.unet, {
      sample: host(c.inputs.sample!),
      timestep: host(c.inputs.timestep!),
      encoder_hidden_states: host(c.inputs.encoder_hidden_states!),
    });
    worst = { ...worst, unet: Math.max(worst.unet, maxAbs(out, c.outputs_f64.out_sample!.data)) };
  }
  const d = vae.vae_decoder[0]!, e = vae.vae_encoder[0]!;
  worst.vaeDecoder = maxAbs(
    await run1(g.vaeDecoder!, { latent_sample: host(d.inputs.latent_sample!) }),
    d.outputs_f64.sample!.data,
  );
  worst.vaeEncoder = maxAbs(
    await run1(g.vaeEncoder!, { sample: host(e.inputs.sample!) }),
    e.outputs_f64.latent_sample!.data,
  );
  console.log("sd-tiny-torch ONNX route, max abs error", worst);
  for (const [k, v] of Object.entries(worst)) assert.ok(v <= 1e-4, `${k}: ${v}`);
});
