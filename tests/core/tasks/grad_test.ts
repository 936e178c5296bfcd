/** The `deno task grad` CLI contract: outputs, order, shapes, errors with exit code 1. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { inlineModel, startGraph } from "../../../core/onnx/compose.ts";
import { loadModel, saveModel } from "../../../core/onnx/model.ts";
import { Session } from "../../../core/onnx/runtime.ts";
import { DType } from "../../../core/onnx/types.ts";
import { FIXTURES, host, type JsonArray, readJson, relL2 } from "../../helpers/fixtures.ts";
import { runTaskFile, type TaskResult } from "./_run.ts";

const TEXT = `${FIXTURES}sd-tiny-torch/text_encoder/embeds.onnx`;

function grad(...args: string[]): Promise<TaskResult> {
  return runTaskFile("grad.ts", args);
}

/** The fixture text encoder with loss = sum(h * R), its weights moved to an external file. */
async function writeLossModel(dir: string): Promise<string> {
  const te = await loadModel(TEXT);
  const { g, finish } = startGraph([
    { name: "inputs_embeds", dtype: DType.FLOAT, shape: [2, 16, 32] },
    { name: "R", dtype: DType.FLOAT, shape: [2, 16, 32] },
    { name: "ids", dtype: DType.INT64, shape: [2] },
  ]);
  const h = inlineModel(g, te, { inputs_embeds: "inputs_embeds" }, "te/").last_hidden_state!;
  g.name(g.reduceSum(g.mul(h, "R"), [0, 1, 2], false), "loss");
  const model = finish(["loss"]);
  const chunks: Uint8Array[] = [];
  let offset = 0;
  model.graph.initializers = model.graph.initializers.map((t) => {
    if (!t.data || t.data.length < 256) return t;
    const ref = { location: "weights.bin", offset, length: t.data.length };
    chunks.push(t.data);
    offset += t.data.length;
    return { name: t.name, dtype: t.dtype, dims: t.dims, external: ref };
  });
  await Deno.mkdir(join(dir, "in"));
  const blob = new Uint8Array(offset);
  let at = 0;
  for (const c of chunks) {
    blob.set(c, at);
    at += c.length;
  }
  await Deno.writeFile(join(dir, "in", "weights.bin"), blob);
  const path = join(dir, "in", "loss.onnx");
  await saveModel(model, path);
  return path;
}

Deno.test("grad CLI writes loss then grad_<wrt> in order, keeps inputs, reuses external weights", async () => {
  const dir = await Deno.makeTempDir();
  const src = await writeLossModel(dir);
  const weight = (await loadModel(src)).graph.initializers.find((t) => t.external)!;
  const out = join(dir, "out", "grad.onnx");
  await Deno.mkdir(join(dir, "out"));
  const r = await grad(
    src,
    "--loss",
    "loss",
    "--wrt",
    `${weight.name},inputs_embeds`,
    "--out",
    out,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual([...Deno.readDirSync(join(dir, "out"))].map((e) => e.name), ["grad.onnx"]);
  const m = await loadModel(out);
  assert.deepEqual(m.graph.inputs.map((v) => v.name), ["inputs_embeds", "R", "ids"]);
  assert.deepEqual(m.graph.outputs.map((v) => v.name), [
    "loss",
    `grad_${weight.name}`,
    "grad_inputs_embeds",
  ]);
  assert.deepEqual(m.graph.outputs[1]!.shape, weight.dims);
  assert.deepEqual(m.graph.outputs[2]!.shape, [2, 16, 32]);
  assert.ok(m.graph.initializers.some((t) => t.external?.location === "../in/weights.bin"));
  assert.ok(m.graph.nodes.every((n) => n.domain === ""), "standard ai.onnx operators only");
  // The written model runs and agrees with PyTorch autograd on the fixture case.
  const c = (await readJson<
    {
      text_encoder_embeds: {
        batch: number;
        inputs: { inputs_embeds: JsonArray };
        R: JsonArray;
        grads_f64: { inputs_embeds: JsonArray };
      }[];
    }
  >("sd-tiny-torch/cases.json"))
    .text_encoder_embeds.find((x) => x.batch === 2)!;
  const s = await Session.create(m);
  const res = await s.run({
    inputs_embeds: host(c.inputs.inputs_embeds),
    R: host(c.R),
    ids: { dtype: "int64", dims: [2], data: new BigInt64Array(2) },
  });
  await s.release();
  const e = relL2(res.grad_inputs_embeds!.data as Float32Array, c.grads_f64.inputs_embeds.data);
  assert.ok(e < 1e-4, `rel L2 ${e}`);
  const intWrt = await grad(src, "--loss", "loss", "--wrt", "ids", "--out", out);
  assert.equal(intWrt.code, 1);
  assert.match(intWrt.stderr, /^error: wrt 'ids' is not a float tensor\n?$/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("grad CLI: bad arguments give one line and exit code 1", async () => {
  const dir = await Deno.makeTempDir();
  const out = join(dir, "o.onnx");
  const bad = join(dir, "bad.onnx");
  await Deno.writeFile(bad, new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 9]));
  const cases: [string[], RegExp][] = [
    [
      [join(dir, "missing.onnx"), "--loss", "l", "--wrt", "x", "--out", out],
      /model file not found/,
    ],
    [[bad, "--loss", "l", "--wrt", "x", "--out", out], /not a valid ONNX/],
    [[
      TEXT,
      "--loss",
      "nope",
      "--wrt",
      "inputs_embeds",
      "--out",
      out,
      "--shape",
      "inputs_embeds=1x16x32",
    ], /unknown loss 'nope'/],
    [[TEXT, "--wrt", "inputs_embeds", "--out", out], /--loss is required/],
    [
      [TEXT, "--loss", "last_hidden_state", "--wrt", "inputs_embeds", "--out", out],
      /input 'inputs_embeds' has unknown dimension 0/,
    ],
    [[
      TEXT,
      "--loss",
      "last_hidden_state",
      "--wrt",
      "x",
      "--out",
      out,
      "--shape",
      "inputs_embeds=1x16x32",
    ], /not scalar|unknown wrt/],
    [
      [TEXT, "--loss", "l", "--wrt", "x", "--out", out, "--shape", "inputs_embeds=1xax32"],
      /bad --shape/,
    ],
  ];
  for (const [args, re] of cases) {
    const r = await grad(...args);
    assert.equal(r.code, 1, args.join(" "));
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, re);
  }
  await assert.rejects(Deno.stat(out));
  await Deno.remove(dir, { recursive: true });
});
