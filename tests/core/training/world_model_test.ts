/** The embedded model's definition and trainer: tokenizer cut, a smoke run, pixel-space sampling. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadDiffusersCheckpoint } from "../../../core/models/checkpoint.ts";
import { ModelRuntime } from "../../../core/models/model_runtime.ts";
import { txt2img } from "../../../core/pipeline/txt2img.ts";
import {
  createScheduler,
  parseSchedulerConfig,
  SchedulerKind,
} from "../../../core/schedulers/mod.ts";
import { ClipTokenizer } from "../../../core/tokenizer/clip.ts";
import {
  scheduledLearningRate,
  trainWorldModel,
} from "../../../core/training/train_world_model.ts";
import {
  WORLD_EPSILON_SCHEDULER_CONFIG,
  WORLD_SCHEDULER_CONFIG,
  worldTokenizerFiles,
} from "../../../core/training/world_model.ts";
import { WORLD_WORDS } from "../../../core/world/mod.ts";
import { FIXTURES } from "../../helpers/fixtures.ts";

const CLIP = `${FIXTURES}clip-tokenizer`;

Deno.test("the world tokenizer tokenizes every world word exactly as CLIP does", async () => {
  const dir = await Deno.makeTempDir();
  for (const [name, text] of Object.entries(await worldTokenizerFiles(CLIP))) {
    await Deno.writeTextFile(join(dir, name), text);
  }
  const world = await ClipTokenizer.fromDir(dir);
  const clip = await ClipTokenizer.fromDir(CLIP);
  assert.ok(world.vocabSize < 700, `vocab ${world.vocabSize}`);
  for (const w of WORLD_WORDS) {
    const a = world.encode(w).map((i) => world.idToToken(i));
    const b = clip.encode(w).map((i) => clip.idToToken(i));
    assert.deepEqual(a, b, w);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("model:train smoke run writes a pixel-space checkpoint that samples 32x32 images; resume is exact", async () => {
  const out = await Deno.makeTempDir();
  const base = {
    clipTokenizerDir: CLIP,
    batch: 2,
    lr: 1e-3,
    seed: 0,
    emaDecay: 0.999,
    captionDropout: 0.1,
    saveEvery: 1,
    warmupSteps: 2,
    minSnrGamma: 5,
  };
  const curve = await trainWorldModel({
    ...base,
    out: join(out, "full"),
    stateDir: join(out, "full-state"),
    steps: 2,
    resume: false,
  });
  assert.equal(curve.length, 2);
  assert.ok(curve.every(Number.isFinite));
  const graphs = await loadDiffusersCheckpoint(join(out, "full"));
  assert.equal(graphs.vaeDecoder, null);
  assert.deepEqual(
    { c: graphs.info.latentChannels, s: graphs.info.latentSize, v: graphs.info.vaeScale },
    { c: 3, s: 32, v: 1 },
  );
  const rt = new ModelRuntime(graphs);
  const tok = await ClipTokenizer.fromDir(join(out, "full", "tokenizer"));
  const ids = Int32Array.from(
    tok.encodePadded("a red circle in the center on a black background", 16),
  );
  const cond = await rt.encodeIds(ids, 1);
  const uncond = await rt.encodeIds(Int32Array.from(tok.encodePadded("", 16)), 1);
  const config = parseSchedulerConfig(
    JSON.parse(
      await Deno.readTextFile(join(out, "full", "scheduler", "scheduler_config.json")),
    ),
  );
  const r = await txt2img(rt, createScheduler(SchedulerKind.DDIM, config), cond, uncond, {
    steps: 2,
    guidance: 3,
    seed: 0,
  });
  assert.equal(r.pixels.length, 3 * 32 * 32);
  assert.ok(r.pixels.every(Number.isFinite));
  await rt.release();
  // One step, then a resumed step, must equal the two-step run bit for bit (raw weights,
  // AdamW moments, warm-up, EMA and data draws all carry on).
  const half = { ...base, out: join(out, "half"), stateDir: join(out, "half-state"), steps: 1 };
  await trainWorldModel({ ...half, resume: false });
  const resumed = await trainWorldModel({ ...half, resume: true });
  assert.deepEqual(resumed, curve);
  const unet = "unet/diffusion_pytorch_model.safetensors";
  assert.deepEqual(
    await Deno.readFile(join(out, "half", unet)),
    await Deno.readFile(join(out, "full", unet)),
  );
  await Deno.remove(out, { recursive: true });
});

Deno.test("the learning rate: constant without --lr-end, a cosine to it with one, warm-up only for fresh moments", () => {
  const o = { lr: 1e-3, steps: 101, warmupSteps: 10 };
  assert.equal(scheduledLearningRate(o, 0, false), 1e-3);
  assert.equal(scheduledLearningRate(o, 100, false), 1e-3);
  assert.ok(Math.abs(scheduledLearningRate(o, 0, true) - 1e-4) < 1e-12);
  assert.ok(Math.abs(scheduledLearningRate(o, 4, true) - 5e-4) < 1e-12);
  assert.equal(scheduledLearningRate(o, 9, true), 1e-3);
  const cosine = { ...o, lrEnd: 1e-5 };
  assert.equal(scheduledLearningRate(cosine, 0, false), 1e-3);
  assert.ok(Math.abs(scheduledLearningRate(cosine, 50, false) - (1e-3 + 1e-5) / 2) < 1e-12);
  assert.ok(Math.abs(scheduledLearningRate(cosine, 100, false) - 1e-5) < 1e-15);
  const rates = Array.from({ length: 101 }, (_, i) => scheduledLearningRate(cosine, i, false));
  assert.ok(rates.every((r, i) => i === 0 || r < rates[i - 1]!), "strictly decreasing");
});

Deno.test("resuming an epsilon checkpoint fine-tunes it to the v schedule and says so", async () => {
  const out = await Deno.makeTempDir();
  const o = {
    out,
    clipTokenizerDir: CLIP,
    steps: 1,
    batch: 1,
    lr: 1e-3,
    seed: 0,
    emaDecay: 0.999,
    captionDropout: 0.1,
    saveEvery: 1,
    warmupSteps: 1,
    minSnrGamma: 0,
  };
  // The first run under the epsilon schedule that dd-world-tiny's runs 1-3 used.
  await trainWorldModel({ ...o, resume: false, schedule: WORLD_EPSILON_SCHEDULER_CONFIG });
  const configPath = join(out, "scheduler", "scheduler_config.json");
  assert.deepEqual(JSON.parse(await Deno.readTextFile(configPath)), WORLD_EPSILON_SCHEDULER_CONFIG);
  const notices: string[] = [];
  const curve = await trainWorldModel({ ...o, resume: true, onNotice: (m) => notices.push(m) });
  assert.equal(curve.length, 2);
  assert.equal(notices.length, 1);
  assert.match(notices[0]!, /prediction_type epsilon -> v_prediction/);
  assert.deepEqual(JSON.parse(await Deno.readTextFile(configPath)), WORLD_SCHEDULER_CONFIG);
  // Resuming under the same schedule says nothing.
  notices.length = 0;
  await trainWorldModel({ ...o, resume: true, onNotice: (m) => notices.push(m) });
  assert.deepEqual(notices, []);
  await Deno.remove(out, { recursive: true });
});
