import assert from "node:assert/strict";
import { Rng } from "../../../core/random.ts";
import { EulerAncestralScheduler, parseSchedulerConfig } from "../../../core/schedulers/mod.ts";

const SD2 = {
  beta_schedule: "scaled_linear",
  beta_start: 0.00085,
  beta_end: 0.012,
  prediction_type: "v_prediction",
  steps_offset: 1,
};
const euler = (extra: Record<string, unknown> = {}) =>
  new EulerAncestralScheduler(parseSchedulerConfig({ ...SD2, ...extra }));

Deno.test("Euler-A linspace: fractional float32 timesteps, interpolated sigmas (numpy values)", () => {
  const plan = euler({ timestep_spacing: "linspace", steps_offset: 0 }).setTimesteps(7);
  assert.deepEqual(plan.timesteps, [999, 832.5, 666, 499.5, 333, 166.5, 0]);
  const expected = [
    14.614645004272461,
    5.948917865753174,
    2.9183082580566406,
    1.6155833005905151,
    0.9323583245277405,
    0.4935535192489624,
    0.029167532920837402,
    0,
  ];
  assert.deepEqual(plan.sigmas, expected);
  assert.equal(plan.initNoiseSigma, expected[0]); // sigma_max for linspace and trailing
});

Deno.test("Euler-A trailing sigmas and init_noise_sigma (numpy values)", () => {
  const plan = euler({ timestep_spacing: "trailing", steps_offset: 0 }).setTimesteps(7);
  assert.deepEqual(plan.timesteps, [999, 856, 713, 570, 428, 285, 142]);
  assert.deepEqual(plan.sigmas, [
    14.614645004272461,
    6.668572425842285,
    3.5138790607452393,
    2.054476499557495,
    1.2762356996536255,
    0.7900615334510803,
    0.43806231021881104,
    0,
  ]);
  assert.equal(plan.initNoiseSigma, plan.sigmas[0]);
});

Deno.test("Euler-A leading: init_noise_sigma = sqrt(sigma_max^2 + 1)", () => {
  const plan = euler().setTimesteps(10);
  const max = plan.sigmas[0]!;
  assert.equal(plan.initNoiseSigma, Math.fround(Math.sqrt(Math.fround(max * max) + 1)));
});

Deno.test("Euler-A step is the Euler step to sigma_down plus sigma_up noise", () => {
  const s = euler({ prediction_type: "epsilon" });
  const plan = s.setTimesteps(10), i = 3;
  const x = new Rng(1).normals(8), eps = new Rng(2).normals(8), z = new Rng(3).normals(8);
  const out = s.step(plan, s.initialState(plan), i, eps, x, z);
  const sf = plan.sigmas[i]!, st = plan.sigmas[i + 1]!;
  const up = Math.sqrt(st ** 2 * (sf ** 2 - st ** 2) / sf ** 2),
    down = Math.sqrt(st ** 2 - up ** 2);
  assert.ok(Math.abs(down ** 2 + up ** 2 - st ** 2) < 1e-9);
  out.prevSample.forEach((v, k) => {
    const x0 = x[k]! - sf * eps[k]!;
    assert.ok(Math.abs(out.predOriginalSample![k]! - x0) < 1e-6);
    const e = x[k]! + ((x[k]! - x0) / sf) * (down - sf) + up * z[k]!;
    assert.ok(Math.abs(v - e) < 1e-5);
  });
});

Deno.test("Euler-A predictions agree across epsilon, v and sample for the same x0", () => {
  const rng = new Rng(4), x0 = rng.normals(16), eps = rng.normals(16), z = rng.normals(16);
  const results = ["epsilon", "v_prediction", "sample"].map((type) => {
    const s = euler({ prediction_type: type });
    const plan = s.setTimesteps(10), i = 2, sigma = plan.sigmas[i]!;
    const x = x0.map((v, k) => v + sigma * eps[k]!); // x = x0 + sigma eps (VE form)
    const a = 1 / (sigma * sigma + 1);
    const out = type === "epsilon"
      ? eps
      : type === "sample"
      ? x0
      : eps.map((e, k) => Math.sqrt(a) * e - Math.sqrt(1 - a) * x0[k]!);
    return s.step(plan, s.initialState(plan), i, out, x, z);
  });
  for (const r of results.slice(1)) {
    r.predOriginalSample!.forEach((v, k) => assert.ok(Math.abs(v - x0[k]!) < 1e-5));
    r.prevSample.forEach((v, k) => assert.ok(Math.abs(v - results[0]!.prevSample[k]!) < 1e-4));
  }
});

Deno.test("Euler-A last step (sigma_to = 0) returns x0 whatever the noise", () => {
  const s = euler();
  const plan = s.setTimesteps(5), last = 4;
  const x = new Rng(5).normals(8), v = new Rng(6).normals(8);
  const a = s.step(plan, s.initialState(plan), last, v, x, new Rng(7).normals(8));
  const b = s.step(plan, s.initialState(plan), last, v, x, new Rng(8).normals(8));
  assert.deepEqual(a.prevSample, b.prevSample);
  a.prevSample.forEach((p, k) => assert.ok(Math.abs(p - a.predOriginalSample![k]!) < 1e-6));
});

Deno.test("Euler-A requires noise", () => {
  const s = euler();
  const plan = s.setTimesteps(5);
  assert.throws(
    () => s.step(plan, s.initialState(plan), 0, new Float32Array(4), new Float32Array(4)),
    /Euler ancestral: step needs noise/,
  );
});
