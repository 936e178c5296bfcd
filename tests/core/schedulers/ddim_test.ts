import assert from "node:assert/strict";
import { Rng } from "../../../core/random.ts";
import {
  addNoise,
  alphasCumprod,
  DDIMScheduler,
  getVelocity,
  parseSchedulerConfig,
} from "../../../core/schedulers/mod.ts";

const SD2 = {
  beta_schedule: "scaled_linear",
  beta_start: 0.00085,
  beta_end: 0.012,
  prediction_type: "v_prediction",
  steps_offset: 1,
  clip_sample: false,
  set_alpha_to_one: false,
};
const ddim = (extra: Record<string, unknown> = {}, eta?: number) =>
  new DDIMScheduler(parseSchedulerConfig({ ...SD2, ...extra }), eta === undefined ? {} : { eta });

Deno.test("DDIM timesteps follow each spacing like diffusers (numpy values)", () => {
  const ts = (extra: Record<string, unknown>) => ddim(extra).setTimesteps(7).timesteps;
  assert.deepEqual(ts({ steps_offset: 0 }), [852, 710, 568, 426, 284, 142, 0]);
  assert.deepEqual(ts({}), [853, 711, 569, 427, 285, 143, 1]);
  // linspace rounds half to even: 832.5 -> 832, 166.5 -> 166
  assert.deepEqual(ts({ timestep_spacing: "linspace" }), [999, 832, 666, 500, 333, 166, 0]);
  assert.deepEqual(ts({ timestep_spacing: "trailing" }), [999, 856, 713, 570, 428, 285, 142]);
  const plan = ddim().setTimesteps(7);
  assert.deepEqual(plan.prevTimesteps, plan.timesteps.map((t) => t - 142));
});

Deno.test("DDIM refuses leading timesteps past T-1 (steps_offset 1 with 1000 steps)", () => {
  assert.throws(() => ddim().setTimesteps(1000), /timestep 1000 is outside 0\.\.999/);
  assert.equal(ddim({ steps_offset: 0 }).setTimesteps(1000).timesteps[0], 999);
});

Deno.test("DDIM final step uses final_alpha_cumprod: ᾱ_0 or 1 (set_alpha_to_one)", () => {
  const off = ddim(), on = ddim({ set_alpha_to_one: true });
  const ac = alphasCumprod(off.config);
  assert.equal(off.finalAlphaCumprod, ac[0]);
  assert.equal(on.finalAlphaCumprod, 1);
  const plan = on.setTimesteps(10);
  assert.equal(plan.alphaProdsPrev[9], 1);
  assert.equal(plan.alphaProdsPrev[8], ac[1]);
  // with ᾱ_prev = 1 the last step returns the x0 prediction itself
  const x = new Rng(1).normals(16), v = new Rng(2).normals(16);
  const out = on.step(plan, on.initialState(plan), 9, v, x);
  assert.deepEqual(out.prevSample, out.predOriginalSample);
});

Deno.test("DDIM recovers x0 and ε for every prediction type", () => {
  const rng = new Rng(3), x0 = rng.normals(64).map((v) => 0.5 * v), eps = rng.normals(64);
  const prevs = ["epsilon", "v_prediction", "sample"].map((type) => {
    const s = ddim({ prediction_type: type });
    const plan = s.setTimesteps(20), i = 5, t = plan.timesteps[i]!;
    const xt = addNoise(s.config, x0, eps, [t]);
    const out = type === "epsilon"
      ? eps
      : type === "sample"
      ? x0
      : getVelocity(s.config, x0, eps, [t]);
    const r = s.step(plan, s.initialState(plan), i, out, xt);
    const err = Math.max(...r.predOriginalSample!.map((v, k) => Math.abs(v - x0[k]!)));
    assert.ok(err < 1e-4, `${type}: ${err}`);
    // eq. (12) with eta = 0: x_prev = sqrt(ᾱ_prev) x0 + sqrt(1 - ᾱ_prev) ε
    const aPrev = plan.alphaProdsPrev[i]!;
    const expected = x0.map((v, k) => Math.sqrt(aPrev) * v + Math.sqrt(1 - aPrev) * eps[k]!);
    assert.ok(Math.max(...r.prevSample.map((v, k) => Math.abs(v - expected[k]!))) < 2e-4);
    return r.prevSample;
  });
  assert.ok(Math.max(...prevs[0]!.map((v, k) => Math.abs(v - prevs[1]![k]!))) < 2e-4);
});

Deno.test("DDIM clip_sample clamps x0 to ±clip_sample_range", () => {
  const s = ddim({ prediction_type: "sample", clip_sample: true, clip_sample_range: 0.5 });
  const plan = s.setTimesteps(10);
  const out = s.step(
    plan,
    s.initialState(plan),
    3,
    new Float32Array([2, -3, 0.25]),
    new Float32Array(3),
  );
  assert.deepEqual(Array.from(out.predOriginalSample!), [0.5, -0.5, 0.25]);
});

Deno.test("DDIM eta > 0 adds sigma_t(eta) noise (eq. 16) and needs noise", () => {
  const s = ddim({ prediction_type: "epsilon" }, 1);
  assert.ok(s.stochastic);
  assert.ok(!ddim().stochastic);
  const plan = s.setTimesteps(10), i = 4, state = s.initialState(plan);
  const x = new Rng(4).normals(8), eps = new Rng(5).normals(8), z = new Rng(6).normals(8);
  assert.throws(() => s.step(plan, state, i, eps, x), /eta = 1 > 0 needs noise/);
  const a = plan.alphaProds[i]!, ap = plan.alphaProdsPrev[i]!;
  const sigma = Math.sqrt((1 - ap) / (1 - a)) * Math.sqrt(1 - a / ap);
  const out = s.step(plan, state, i, eps, x, z);
  out.prevSample.forEach((v, k) => {
    const x0 = (x[k]! - Math.sqrt(1 - a) * eps[k]!) / Math.sqrt(a);
    const e = Math.sqrt(ap) * x0 + Math.sqrt(1 - ap - sigma ** 2) * eps[k]! + sigma * z[k]!;
    assert.ok(Math.abs(v - e) < 1e-5);
  });
  // eta = 0 ignores noise
  const det = ddim({ prediction_type: "epsilon" });
  const p0 = det.setTimesteps(10);
  assert.deepEqual(
    det.step(p0, det.initialState(p0), i, eps, x, z).prevSample,
    det.step(p0, det.initialState(p0), i, eps, x).prevSample,
  );
  assert.throws(() => ddim({}, -0.1), /eta must be >= 0/);
});

Deno.test("DDIM supports rescale_betas_zero_snr with v-prediction (ᾱ_T = 0 at t = 999)", () => {
  const s = ddim({ rescale_betas_zero_snr: true, timestep_spacing: "trailing", steps_offset: 0 });
  const plan = s.setTimesteps(5);
  assert.equal(plan.timesteps[0], 999);
  assert.equal(plan.alphaProds[0], 0);
  const v = new Rng(7).normals(8), x = new Rng(8).normals(8);
  const out = s.step(plan, s.initialState(plan), 0, v, x);
  assert.deepEqual(out.predOriginalSample, v.map((e) => -e)); // x0 = -v at zero SNR
  assert.ok(out.prevSample.every(Number.isFinite));
});
