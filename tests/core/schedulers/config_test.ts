import assert from "node:assert/strict";
import {
  alphasCumprod,
  betas,
  BetaSchedule,
  FinalSigmas,
  parseSchedulerConfig,
  PredictionType,
  TimestepSpacing,
} from "../../../core/schedulers/config.ts";
import { FIXTURES, type JsonArray, readJson } from "../../helpers/fixtures.ts";

const DIR = "diffusers-tiny-sd2/";

interface Reference {
  ddpm: { alphas_cumprod: JsonArray };
  schedulers: { ddim: { alphas_cumprod: JsonArray; final_alpha_cumprod: number } };
}

async function fixtureConfig(): Promise<unknown> {
  return JSON.parse(await Deno.readTextFile(`${FIXTURES}${DIR}scheduler/scheduler_config.json`));
}

Deno.test("parseSchedulerConfig() reads the SD2 scheduler_config.json", async () => {
  const c = parseSchedulerConfig(await fixtureConfig());
  assert.equal(c.num_train_timesteps, 1000);
  assert.equal(c.beta_schedule, BetaSchedule.ScaledLinear);
  assert.equal(c.prediction_type, PredictionType.VPrediction);
  assert.equal(c.timestep_spacing, TimestepSpacing.Leading);
  assert.equal(c.steps_offset, 1);
  assert.equal(c.set_alpha_to_one, false);
  assert.equal(c.final_sigmas_type, FinalSigmas.SigmaMin);
  assert.equal(c.lambda_min_clipped, -Infinity);
  assert.ok(Object.isFrozen(c));
  assert.ok(!("_class_name" in c) && !("dynamic_thresholding_ratio" in c));
});

Deno.test("parseSchedulerConfig() fills DDIMScheduler defaults and ignores unknown keys", () => {
  const c = parseSchedulerConfig({ skip_prk_steps: true, solver_order: 3, _class_name: "X" });
  assert.deepEqual(
    [c.beta_start, c.beta_end, c.beta_schedule, c.prediction_type, c.timestep_spacing],
    [0.0001, 0.02, "linear", "epsilon", "leading"],
  );
  assert.deepEqual([c.clip_sample, c.set_alpha_to_one, c.steps_offset], [true, true, 0]);
  assert.equal(
    parseSchedulerConfig({ lambda_min_clipped: "-Infinity" }).lambda_min_clipped,
    -1 / 0,
  );
  assert.equal(parseSchedulerConfig({ lambda_min_clipped: -5.1 }).lambda_min_clipped, -5.1);
});

Deno.test("parseSchedulerConfig() names the invalid field", () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ num_train_timesteps: -5 }, /num_train_timesteps: Too small/],
    [{ num_train_timesteps: 10.5 }, /num_train_timesteps/],
    [{ beta_schedule: "sigmoid" }, /beta_schedule: Invalid option/],
    [{ prediction_type: "x0" }, /prediction_type/],
    [{ timestep_spacing: "karras" }, /timestep_spacing/],
    [{ thresholding: true }, /thresholding: true is not supported/],
    [{ use_karras_sigmas: true }, /use_karras_sigmas/],
    [{ beta_start: 0 }, /beta_start must be in \(0, 1\)/],
    [{ beta_end: 1.5 }, /beta_end/],
    [{ beta_start: 0.1, beta_end: 0.01 }, /beta_start: 0.1 is larger than beta_end/],
    [{ steps_offset: -1 }, /steps_offset/],
    [{ clip_sample_range: 0 }, /clip_sample_range/],
    [{ num_train_timesteps: 3, trained_betas: [0.1, 0.2] }, /trained_betas: has 2 values/],
    [{ trained_betas: [0.1, -0.2] }, /trained_betas/],
    [{ final_sigmas_type: "max" }, /final_sigmas_type/],
  ];
  for (const [json, re] of cases) {
    assert.throws(() => parseSchedulerConfig(json), re, JSON.stringify(json));
  }
  assert.throws(() => parseSchedulerConfig(null), /invalid scheduler config/);
});

Deno.test("alphasCumprod() equals diffusers' float32 alphas_cumprod bit for bit", async () => {
  const ref = await readJson<Reference>(`${DIR}reference.json`);
  const ac = alphasCumprod(parseSchedulerConfig(await fixtureConfig()));
  assert.equal(ac.length, 1000);
  for (const expected of [ref.schedulers.ddim.alphas_cumprod, ref.ddpm.alphas_cumprod]) {
    const worst = Math.max(...expected.data.map((v, i) => Math.abs(ac[i]! - Math.fround(v))));
    assert.equal(worst, 0);
  }
  assert.equal(ac[0], ref.schedulers.ddim.final_alpha_cumprod);
});

Deno.test("betas() follows each beta_schedule", () => {
  const lin = betas(parseSchedulerConfig({ num_train_timesteps: 11, beta_end: 0.0201 }));
  assert.equal(lin[0], Math.fround(0.0001));
  assert.equal(lin[10], Math.fround(0.0201));
  assert.ok(Math.abs(lin[5]! - 0.0101) < 1e-9);
  const cos = betas(parseSchedulerConfig({ beta_schedule: "squaredcos_cap_v2" }));
  assert.ok(cos.every((b, i) => b > 0 && b <= Math.fround(0.999) && (i === 0 || b >= cos[i - 1]!)));
  assert.equal(cos[999], Math.fround(0.999));
  const trained = parseSchedulerConfig({ num_train_timesteps: 3, trained_betas: [0.1, 0.2, 0.3] });
  const expected = [0.9, 0.9 * 0.8, 0.9 * 0.8 * 0.7];
  alphasCumprod(trained).forEach((a, i) => assert.ok(Math.abs(a - expected[i]!) < 1e-7));
});

Deno.test("rescale_betas_zero_snr gives zero terminal SNR and keeps alphas_cumprod[0]", async () => {
  const json = await fixtureConfig() as Record<string, unknown>;
  const plain = alphasCumprod(parseSchedulerConfig(json));
  const zero = alphasCumprod(parseSchedulerConfig({ ...json, rescale_betas_zero_snr: true }));
  assert.equal(zero[999], 0);
  assert.ok(Math.abs(zero[0]! - plain[0]!) < 1e-6);
  assert.ok(zero.every((a, i) => i === 0 || a < zero[i - 1]!));
});
