import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { loadDiffusersCheckpoint } from "../../../core/models/checkpoint.ts";
import { readSafetensorsIndex } from "../../../core/models/safetensors.ts";
import { DType, type Model } from "../../../core/onnx/types.ts";
import { copyCheckpoint, maxAbsErr, REF, refRows, rows, runOnce, SD2 } from "./_sd_fixture.ts";

const sd = await loadDiffusersCheckpoint(SD2);
const ROOT = resolve(SD2);
const TOL = 1e-4;

/** The operators the graphs may use: standard ai.onnx at opset 17. */
const OPS = new Set([
  "Add",
  "ArgMax",
  "Cast",
  "Concat",
  "Conv",
  "Cos",
  "Div",
  "Equal",
  "Erf",
  "Gather",
  "Identity",
  "InstanceNormalization",
  "LayerNormalization",
  "MatMul",
  "Mul",
  "Pad",
  "Reshape",
  "Resize",
  "Sigmoid",
  "Sin",
  "Slice",
  "Softmax",
  "Split",
  "Squeeze",
  "Sub",
  "Transpose",
  "Unsqueeze",
]);

Deno.test("loadDiffusersCheckpoint() derives ModelInfo from the configs", () => {
  assert.deepEqual(sd.info, {
    maxLength: 77,
    hiddenSize: 32,
    latentChannels: 4,
    latentSize: 16,
    vaeScale: 2,
    scalingFactor: 0.18215,
  });
  assert.equal(sd.tokenEmbeddingBaseDir, ROOT);
  assert.equal(sd.tokenEmbedding.name, "text_model.embeddings.token_embedding.weight");
  assert.deepEqual(sd.tokenEmbedding.dims, [1000, 32]);
  assert.equal(sd.tokenEmbedding.external?.location, "text_encoder/model.safetensors");
});

Deno.test("graphs follow the SdGraphs contract: names, dtypes, symbolic batch, opset 17, standard ops", () => {
  const io = (m: Model) => ({
    inputs: m.graph.inputs.map((v) => [v.name, DType[v.dtype], v.shape]),
    outputs: m.graph.outputs.map((v) => [v.name, DType[v.dtype], v.shape]),
  });
  assert.deepEqual(io(sd.textEncoder), {
    inputs: [["input_ids", "INT32", ["batch", 77]]],
    outputs: [["last_hidden_state", "FLOAT", ["batch", 77, 32]]],
  });
  assert.deepEqual(io(sd.textEncoderEmbeds), {
    inputs: [["inputs_embeds", "FLOAT", ["batch", 77, 32]]],
    outputs: [["last_hidden_state", "FLOAT", ["batch", 77, 32]]],
  });
  assert.deepEqual(io(sd.unet), {
    inputs: [
      ["sample", "FLOAT", ["batch", 4, 16, 16]],
      ["timestep", "FLOAT", ["batch"]],
      ["encoder_hidden_states", "FLOAT", ["batch", 77, 32]],
    ],
    outputs: [["out_sample", "FLOAT", ["batch", 4, 16, 16]]],
  });
  assert.deepEqual(io(sd.vaeDecoder!), {
    inputs: [["latent_sample", "FLOAT", ["batch", 4, 16, 16]]],
    outputs: [["sample", "FLOAT", ["batch", 3, 32, 32]]],
  });
  assert.deepEqual(io(sd.vaeEncoder!), {
    inputs: [["sample", "FLOAT", ["batch", 3, 32, 32]]],
    outputs: [["latent_sample", "FLOAT", ["batch", 4, 16, 16]]],
  });
  for (const m of [sd.textEncoder, sd.textEncoderEmbeds, sd.unet, sd.vaeDecoder!, sd.vaeEncoder!]) {
    assert.deepEqual(m.opsetImports, [{ domain: "", version: 17 }]);
    assert.equal(m.baseDir, ROOT);
    for (const n of m.graph.nodes) {
      assert.equal(n.domain, "");
      assert.ok(OPS.has(n.opType), `unexpected operator ${n.opType}`);
    }
  }
});

Deno.test("every checkpoint tensor is bound by name as external data, never copied", async () => {
  const external = (...ms: Model[]) =>
    new Set(ms.flatMap((m) => m.graph.initializers.filter((t) => t.external).map((t) => t.name)));
  const parts: [string, Model[]][] = [
    ["text_encoder/model.safetensors", [sd.textEncoder, sd.textEncoderEmbeds]],
    ["unet/diffusion_pytorch_model.safetensors", [sd.unet]],
    ["vae/diffusion_pytorch_model.safetensors", [sd.vaeDecoder!, sd.vaeEncoder!]],
  ];
  for (const [file, models] of parts) {
    const index = await readSafetensorsIndex(join(SD2, file));
    assert.deepEqual([...external(...models)].sort(), [...index.tensors.keys()].sort(), file);
    for (const m of models) {
      for (const t of m.graph.initializers) {
        if (t.external) {
          assert.equal(t.external.location, file);
          assert.equal(t.data, undefined);
        } else {
          // Only small constants are inline (the causal mask, 77x77 float32, is the largest).
          assert.ok(
            (t.data?.length ?? 0) <= 77 * 77 * 4,
            `${t.name}: ${t.data?.length} inline bytes`,
          );
        }
      }
    }
  }
  // The ids and embeds graphs share the same tensors (same file offsets).
  const a = sd.textEncoder.graph.initializers.find((t) => t.name.endsWith("fc1.weight"));
  const b = sd.textEncoderEmbeds.graph.initializers.find((t) => t.name === a?.name);
  assert.deepEqual(a?.external, b?.external);
});

Deno.test("the loaded graphs reproduce reference.json at batch 2", async () => {
  const te = REF.text_encoder, u = REF.unet, v = REF.vae;
  const errs = {
    text: maxAbsErr(
      (await runOnce(
        sd.textEncoder,
        { input_ids: rows(te.input_ids, [0, 1]) },
        "last_hidden_state",
      )).data,
      te.last_hidden_state.data,
    ),
    unet: maxAbsErr(
      (await runOnce(sd.unet, {
        sample: rows(u.sample, [0, 1]),
        timestep: rows({ ...u.timestep, dtype: "float32" }, [0, 1]),
        encoder_hidden_states: rows(u.encoder_hidden_states, [0, 1]),
      }, "out_sample")).data,
      u.out_sample.data,
    ),
    decode: maxAbsErr(
      (await runOnce(
        sd.vaeDecoder!,
        { latent_sample: rows(v.decode_latent_sample, [0, 0]) },
        "sample",
      )).data,
      refRows(v.decode_sample, [0, 0]),
    ),
    encode: maxAbsErr(
      (await runOnce(sd.vaeEncoder!, { sample: rows(v.encode_sample, [0, 0]) }, "latent_sample"))
        .data,
      refRows(v.encode_mean, [0, 0]),
    ),
  };
  console.log(Object.entries(errs).map(([k, e]) => `${k} ${e.toExponential(2)}`).join(", "));
  for (const [k, e] of Object.entries(errs)) assert.ok(e <= TOL, `${k}: max |err| ${e}`);
});

Deno.test("loadDiffusersCheckpoint() names the file or field that is wrong", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await copyCheckpoint(dir);
    const at = (f: string) => join(dir, f);
    const expectError = async (re: RegExp) =>
      await assert.rejects(loadDiffusersCheckpoint(dir), re);
    const edit = async (f: string, patch: Record<string, unknown>) => {
      const raw = JSON.parse(await Deno.readTextFile(join(SD2, f)));
      await Deno.writeTextFile(at(f), JSON.stringify({ ...raw, ...patch }));
    };
    const restore = (f: string) => Deno.copyFile(join(SD2, f), at(f));
    await loadDiffusersCheckpoint(dir);

    await Deno.remove(at("unet/config.json"));
    await expectError(/config file not found: .*unet\/config\.json/);
    await restore("unet/config.json");

    await Deno.writeTextFile(at("vae/config.json"), "{ not json");
    await expectError(/vae\/config\.json: invalid JSON/);
    await restore("vae/config.json");

    await edit("unet/config.json", { norm_num_groups: 24 });
    await expectError(
      /unet config: norm_num_groups 24 does not divide block_out_channels\[0\] 32 \(.*unet\/config\.json\)/,
    );
    await edit("unet/config.json", {
      down_block_types: ["CrossAttnDownBlock2D", "SimpleCrossAttnDownBlock2D"],
    });
    await expectError(
      /unet config: unsupported down_block_types\[1\] "SimpleCrossAttnDownBlock2D"/,
    );
    await edit("unet/config.json", { cross_attention_dim: 64 });
    await expectError(
      /unet config: cross_attention_dim 64 does not match text_encoder hidden_size 32/,
    );
    await restore("unet/config.json");

    await edit("model_index.json", { unet: ["diffusers", "UNet2DModel"] });
    await expectError(/model_index\.json: unsupported unet class "UNet2DModel"/);
    await restore("model_index.json");

    await Deno.remove(at("vae/diffusion_pytorch_model.safetensors"));
    await expectError(/safetensors file not found: .*vae\/diffusion_pytorch_model\.safetensors/);
    await restore("vae/diffusion_pytorch_model.safetensors");

    const unetFile = at("unet/diffusion_pytorch_model.safetensors");
    await Deno.truncate(unetFile, 1_000_000);
    await expectError(
      /unet\/diffusion_pytorch_model\.safetensors: truncated safetensors file \(tensor '.*' ends past the file\)/,
    );
    await Deno.truncate(unetFile, 4);
    await expectError(
      /unet\/diffusion_pytorch_model\.safetensors: truncated safetensors file \(no header\)/,
    );
    await restore("unet/diffusion_pytorch_model.safetensors");

    await assert.rejects(
      loadDiffusersCheckpoint(join(dir, "nowhere")),
      /config file not found: .*nowhere\/text_encoder\/config\.json/,
    );
    await loadDiffusersCheckpoint(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
