/** The txt2img pipeline reproduces diffusers' StableDiffusionPipeline on the fixture. */
import assert from "node:assert/strict";
import { loadOnnxFolder } from "../../../core/models/onnx_folder.ts";
import { ModelRuntime } from "../../../core/models/model_runtime.ts";
import { txt2img } from "../../../core/pipeline/txt2img.ts";
import {
  createScheduler,
  parseSchedulerConfig,
  SchedulerKind,
} from "../../../core/schedulers/mod.ts";
import { FIXTURES, type JsonArray, readJson } from "../../helpers/fixtures.ts";

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const SD2 = `${FIXTURES}diffusers-tiny-sd2/`;

Deno.test("txt2img: 5-step DDIM with guidance 7.5 reproduces diffusers' latents and image", async () => {
  type Ref = { txt2img: Record<string, JsonArray> };
  const ref = (await readJson<Ref>("diffusers-tiny-sd2/reference.json")).txt2img;
  const graphs = await loadOnnxFolder(`${SD2}onnx`, { latentSize: 16 });
  const config = parseSchedulerConfig(
    JSON.parse(await Deno.readTextFile(`${SD2}scheduler/scheduler_config.json`)),
  );
  const rt = new ModelRuntime(graphs);
  const progress: number[] = [];
  const out = await txt2img(
    rt,
    createScheduler(SchedulerKind.DDIM, config),
    Float32Array.from(ref.prompt_embeds!.data),
    Float32Array.from(ref.negative_prompt_embeds!.data),
    {
      steps: 5,
      guidance: 7.5,
      seed: 0,
      latents: Float32Array.from(ref.initial_latents!.data),
      onProgress: (done) => progress.push(done),
    },
  );
  await rt.release();
  const eLat = maxAbs(out.latents, ref.final_latents!.data);
  const eImg = maxAbs(out.pixels, ref.decoded_image!.data);
  console.log(
    `txt2img max abs error: latents ${eLat.toExponential(2)}, image ${eImg.toExponential(2)}`,
  );
  assert.ok(eLat <= 1e-4 && eImg <= 1e-4);
  assert.deepEqual(progress, [1, 2, 3, 4, 5]);
});

Deno.test("txt2img is deterministic per seed and independent of batch size", async () => {
  const graphs = await loadOnnxFolder(`${SD2}onnx`, { latentSize: 16 });
  const config = parseSchedulerConfig(
    JSON.parse(await Deno.readTextFile(`${SD2}scheduler/scheduler_config.json`)),
  );
  const rt = new ModelRuntime(graphs);
  const cond = Float32Array.from({ length: 3 * 77 * 32 }, (_, i) => Math.sin(i));
  const uncond = new Float32Array(77 * 32);
  for (const kind of [SchedulerKind.DDIM, SchedulerKind.EulerAncestral]) {
    const s = createScheduler(kind, config);
    const a = await txt2img(rt, s, cond, uncond, { steps: 3, guidance: 3, seed: 7, batchSize: 3 });
    const b = await txt2img(rt, s, cond, uncond, { steps: 3, guidance: 3, seed: 7, batchSize: 1 });
    const c = await txt2img(rt, s, cond, uncond, { steps: 3, guidance: 3, seed: 8, batchSize: 3 });
    assert.ok(maxAbs(a.pixels, b.pixels) < 1e-5, kind);
    assert.ok(maxAbs(a.pixels, c.pixels) > 1e-2, kind);
  }
  const ctl = new AbortController();
  const reason = new Error("stop");
  ctl.abort(reason);
  await assert.rejects(
    txt2img(rt, createScheduler(SchedulerKind.DDIM, config), cond, uncond, {
      steps: 3,
      guidance: 3,
      seed: 1,
      signal: ctl.signal,
    }),
    (e) => e === reason,
  );
  await rt.release();
});
