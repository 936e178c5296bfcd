/**
 * `deno task export-onnx`: the exported folder, run directly by onnxruntime-node from its
 * paths, reproduces the diffusers references; loadOnnxFolder reads it; fp16 weights stay
 * fp16; errors are one line with exit code 1 and leave nothing behind.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { readTokenTable } from "../../../core/distribution/template.ts";
import { loadDiffusersCheckpoint } from "../../../core/models/checkpoint.ts";
import { loadOnnxFolder } from "../../../core/models/onnx_folder.ts";
import { loadModel } from "../../../core/onnx/model.ts";
import { DType } from "../../../core/onnx/types.ts";
import { copyCheckpoint, maxAbsErr, REF, SD2, writeSafetensors } from "../models/_sd_fixture.ts";
import { readSafetensorsIndex } from "../../../core/models/safetensors.ts";
import { runTaskFile } from "./_run.ts";

const TOL = 1e-4;
const run = (...args: string[]) => runTaskFile("export_onnx.ts", args);

const f32 = (a: { shape: number[]; data: number[] }) =>
  new ort.Tensor("float32", Float32Array.from(a.data), a.shape);

/** Runs `dir/file` with ONNX Runtime from its path (external data resolved by ORT itself). */
async function ortRun(path: string, feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(path);
  try {
    const out = await s.run(feeds);
    return out[s.outputNames[0]!]!.data as Float32Array;
  } finally {
    await s.release();
  }
}

/** The reference checks of the issue, per component: max |err| of each. */
async function referenceErrors(dir: string): Promise<Record<string, number>> {
  const ids = REF.text_encoder.input_ids;
  const text = await ortRun(join(dir, "text_encoder/model.onnx"), {
    input_ids: new ort.Tensor("int32", Int32Array.from(ids.data), ids.shape),
  });
  const table = await readTokenTable(await loadDiffusersCheckpoint(SD2));
  const embeds = new Float32Array(ids.data.length * 32);
  ids.data.forEach((id, i) => embeds.set(table.subarray(id * 32, id * 32 + 32), i * 32));
  const viaEmbeds = await ortRun(join(dir, "text_encoder/embeds.onnx"), {
    inputs_embeds: new ort.Tensor("float32", embeds, [...ids.shape, 32]),
  });
  const u = REF.unet;
  const unet = await ortRun(join(dir, "unet/model.onnx"), {
    sample: f32(u.sample),
    timestep: new ort.Tensor("float32", Float32Array.from(u.timestep.data), u.timestep.shape),
    encoder_hidden_states: f32(u.encoder_hidden_states),
  });
  const dec = await ortRun(join(dir, "vae_decoder/model.onnx"), {
    latent_sample: f32(REF.vae.decode_latent_sample),
  });
  const enc = await ortRun(join(dir, "vae_encoder/model.onnx"), {
    sample: f32(REF.vae.encode_sample),
  });
  const want = REF.text_encoder.last_hidden_state.data;
  return {
    text_encoder: maxAbsErr(text, want),
    text_encoder_embeds: maxAbsErr(viaEmbeds, want),
    unet: maxAbsErr(unet, REF.unet.out_sample.data),
    vae_decoder: maxAbsErr(dec, REF.vae.decode_sample.data),
    vae_encoder: maxAbsErr(enc, REF.vae.encode_mean.data),
  };
}

Deno.test("export-onnx writes an optimum folder that ONNX Runtime runs from its paths, matching reference.json", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const out = join(tmp, "tiny-onnx");
    const r = await run("--model", SD2, "--out", out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^wrote .*tiny-onnx: text_encoder \(model\.onnx, embeds\.onnx/);
    for (const c of ["text_encoder", "unet", "vae_decoder", "vae_encoder"]) {
      const files = [...Deno.readDirSync(join(out, c))].map((e) => e.name).sort();
      const want = c === "text_encoder"
        ? ["config.json", "embeds.onnx", "model.onnx", "weights.bin"]
        : ["config.json", "model.onnx", "weights.bin"];
      assert.deepEqual(files, want, c);
      const m = await loadModel(join(out, c, "model.onnx"));
      assert.ok(m.graph.initializers.some((t) => t.external));
      assert.ok(
        m.graph.initializers.every((t) => !t.external || t.external.location === "weights.bin"),
      );
    }
    for (const f of ["tokenizer/vocab.json", "scheduler/scheduler_config.json", "README.md"]) {
      assert.ok(Deno.statSync(join(out, f)).isFile, f);
    }
    assert.deepEqual([...Deno.readDirSync(tmp)].map((e) => e.name), ["tiny-onnx"]);
    const errs = await referenceErrors(out);
    console.log("export-onnx max |err| per component:", JSON.stringify(errs));
    for (const [c, e] of Object.entries(errs)) assert.ok(e <= TOL, `${c}: max |err| ${e}`);
    // core's ONNX-folder route reads the export as well.
    const g = await loadOnnxFolder(out);
    assert.deepEqual(g.info, {
      maxLength: 77,
      hiddenSize: 32,
      latentChannels: 4,
      latentSize: 16,
      vaeScale: 2,
      scalingFactor: 0.18215,
    });
    const { Session } = await import("../../../core/onnx/runtime.ts");
    const s = await Session.create(g.unet);
    const u = REF.unet;
    const o = await s.run({
      sample: { dtype: "float32", dims: u.sample.shape, data: Float32Array.from(u.sample.data) },
      timestep: { dtype: "float32", dims: [2], data: Float32Array.from(u.timestep.data) },
      encoder_hidden_states: {
        dtype: "float32",
        dims: u.encoder_hidden_states.shape,
        data: Float32Array.from(u.encoder_hidden_states.data),
      },
    });
    await s.release();
    assert.ok(maxAbsErr(o.out_sample!.data as Float32Array, u.out_sample.data) <= TOL);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("export-onnx keeps fp16 weights fp16 (halved weights.bin, Cast in the graph)", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const ckpt = join(tmp, "ckpt");
    await copyCheckpoint(ckpt);
    for (
      const f of [
        "text_encoder/model",
        "unet/diffusion_pytorch_model",
        "vae/diffusion_pytorch_model",
      ]
    ) {
      const src = join(SD2, `${f}.safetensors`);
      const index = await readSafetensorsIndex(src);
      const file = await Deno.readFile(src);
      await writeSafetensors(
        join(ckpt, `${f}.fp16.safetensors`),
        [...index.tensors].map(([name, e]) => ({
          name,
          dtype: "F16",
          shape: e.shape,
          bytes: new Uint8Array(
            Float16Array.from(new Float32Array(file.slice(e.offset, e.offset + e.length).buffer))
              .buffer,
          ),
        })),
      );
    }
    const [full, half] = [join(tmp, "f32"), join(tmp, "f16")];
    assert.equal((await run("--model", ckpt, "--out", full)).code, 0);
    const r = await run("--model", ckpt, "--out", half, "--variant", "fp16");
    assert.equal(r.code, 0, r.stderr);
    const unet = await loadModel(join(half, "unet/model.onnx"));
    assert.ok(
      unet.graph.initializers.filter((t) => t.external).every((t) => t.dtype === DType.FLOAT16),
    );
    assert.ok(unet.graph.nodes.some((n) => n.opType === "Cast"));
    const size = (d: string) => Deno.statSync(join(d, "unet/weights.bin")).size;
    assert.ok(size(half) < 0.55 * size(full), `${size(half)} vs ${size(full)}`);
    const errs = await referenceErrors(half);
    console.log("export-onnx fp16 max |err| per component:", JSON.stringify(errs));
    for (const [c, e] of Object.entries(errs)) assert.ok(e <= 5e-2, `${c}: max |err| ${e}`);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("export-onnx refuses bad arguments with one line and exit code 1, leaving nothing", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const busy = join(tmp, "busy");
    await Deno.mkdir(busy);
    await Deno.writeTextFile(join(busy, "keep.txt"), "x");
    const cases: [string[], RegExp][] = [
      [[], /--out is required/],
      [
        ["--out", join(tmp, "a"), "--model", "no-such-model"],
        /"no-such-model" is not in models.lock/,
      ],
      [["--out", join(tmp, "a"), "--bogus"], /unknown option --bogus/],
      [["--out", join(tmp, "a"), "--latent-size", "x"], /--latent-size expects an integer/],
      [["--out", busy, "--model", SD2], /exists and is not empty/],
      [["--out", join(tmp, "a"), "--model", tmp], /not found/],
    ];
    for (const [args, re] of cases) {
      const r = await run(...args);
      assert.equal(r.code, 1, args.join(" "));
      assert.match(r.stderr.trim(), /^error: [^\n]+$/, args.join(" "));
      assert.match(r.stderr, re, args.join(" "));
    }
    assert.deepEqual([...Deno.readDirSync(tmp)].map((e) => e.name), ["busy"]);
    assert.deepEqual([...Deno.readDirSync(busy)].map((e) => e.name), ["keep.txt"]);
    const help = await run("--help");
    assert.equal(help.code, 0);
    for (const flag of ["--model", "--out", "--variant", "--latent-size", "--force"]) {
      assert.ok(help.stdout.includes(flag), flag);
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
