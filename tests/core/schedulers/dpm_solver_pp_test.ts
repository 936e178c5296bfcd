import assert from "node:assert/strict";
import { Rng } from "../../../core/random.ts";
import {
  DPMSolverPPScheduler,
  type DPMSolverPPState,
  parseSchedulerConfig,
  type StepState,
} from "../../../core/schedulers/mod.ts";

const SD2 = {
  beta_schedule: "scaled_linear",
  beta_start: 0.00085,
  beta_end: 0.012,
  prediction_type: "epsilon",
  steps_offset: 1,
};
const dpm = (extra: Record<string, unknown> = {}) =>
  new DPMSolverPPScheduler(parseSchedulerConfig({ ...SD2, ...extra }));

/** The first-order (DDIM) update in ᾱ form: sqrt(ᾱ_t) x0 + sqrt(1 - ᾱ_t) ε̂. */
function firstOrder(x: Float32Array, x0: Float32Array, sigmaS: number, sigmaT: number) {
  const aS = 1 / (sigmaS ** 2 + 1), aT = 1 / (sigmaT ** 2 + 1);
  return x.map((v, k) => {
    const eps = (v - Math.sqrt(aS) * x0[k]!) / Math.sqrt(1 - aS);
    return Math.sqrt(aT) * x0[k]! + Math.sqrt(1 - aT) * eps;
  });
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)));

Deno.test("DPM-Solver++ timesteps for each spacing (numpy values)", () => {
  const ts = (extra: Record<string, unknown>) => dpm(extra).setTimesteps(7).timesteps;
  assert.deepEqual(ts({}), [876, 751, 626, 501, 376, 251, 126]);
  assert.deepEqual(ts({ timestep_spacing: "linspace" }), [999, 856, 714, 571, 428, 285, 143]);
  assert.deepEqual(ts({ timestep_spacing: "trailing" }), [999, 856, 713, 570, 428, 285, 142]);
  assert.throws(() => dpm().setTimesteps(1000), /repeated timesteps/);
  assert.throws(() => dpm({ timestep_spacing: "linspace" }).setTimesteps(1000), /repeated/);
});

Deno.test("DPM-Solver++ final sigma: sigma(t=0) by default, 0 with final_sigmas_type zero", () => {
  const a = dpm().setTimesteps(10), b = dpm({ final_sigmas_type: "zero" }).setTimesteps(10);
  assert.ok(Math.abs(a.sigmas[10]! - 0.0291675) < 1e-7);
  assert.equal(b.sigmas[10], 0);
  assert.deepEqual(a.sigmas.slice(0, 10), b.sigmas.slice(0, 10));
  const s = dpm({ final_sigmas_type: "zero" });
  const x = new Rng(1).normals(8), eps = new Rng(2).normals(8);
  const out = s.step(b, s.initialState(b), 9, eps, x);
  assert.ok(maxDiff(out.prevSample, out.predOriginalSample!) < 1e-6); // lands on x0
});

Deno.test("DPM-Solver++ first step is first order (DDIM), later steps second order", () => {
  const s = dpm(), plan = s.setTimesteps(20);
  const rng = new Rng(3);
  const x = rng.normals(16), e0 = rng.normals(16), e1 = rng.normals(16);
  const r0 = s.step(plan, s.initialState(plan), 0, e0, x);
  const ddim0 = firstOrder(x, r0.predOriginalSample!, plan.sigmas[0]!, plan.sigmas[1]!);
  assert.ok(maxDiff(r0.prevSample, ddim0) < 1e-5);
  const r1 = s.step(plan, r0.state, 1, e1, r0.prevSample);
  const ddim1 = firstOrder(r0.prevSample, r1.predOriginalSample!, plan.sigmas[1]!, plan.sigmas[2]!);
  assert.ok(maxDiff(r1.prevSample, ddim1) > 1e-3); // the D1 correction is present
  // with the state dropped, step 1 is first order again (e.g. img2img starting there)
  const fresh = s.step(plan, s.initialState(plan), 1, e1, r0.prevSample);
  assert.ok(maxDiff(fresh.prevSample, ddim1) < 1e-5);
  const st = r1.state as DPMSolverPPState;
  assert.equal(st.lastStepIndex, 1);
  assert.deepEqual(st.previousX0, r1.predOriginalSample);
});

Deno.test("DPM-Solver++ lower_order_final: last step first order below 15 steps", () => {
  const lastStep = (n: number, extra: Record<string, unknown> = {}) => {
    const s = dpm(extra), plan = s.setTimesteps(n), rng = new Rng(n);
    let x: Float32Array = rng.normals(8), state: StepState = s.initialState(plan);
    for (let i = 0; i < n - 1; i++) {
      ({ prevSample: x, state } = s.step(plan, state, i, rng.normals(8), x));
    }
    const r = s.step(plan, state, n - 1, rng.normals(8), x);
    const ddim = firstOrder(x, r.predOriginalSample!, plan.sigmas[n - 1]!, plan.sigmas[n]!);
    return maxDiff(r.prevSample, ddim);
  };
  assert.ok(lastStep(10) < 1e-5);
  assert.ok(lastStep(20) > 1e-4);
  assert.ok(lastStep(20, { euler_at_final: true }) < 1e-5);
  assert.ok(lastStep(10, { lower_order_final: false }) > 1e-4);
});

Deno.test("DPM-Solver++ refuses a state from a non-adjacent step", () => {
  const s = dpm(), plan = s.setTimesteps(10);
  const x = new Rng(4).normals(8), e = new Rng(5).normals(8);
  const r0 = s.step(plan, s.initialState(plan), 0, e, x);
  assert.throws(() => s.step(plan, r0.state, 2, e, x), /state is from step 0.*not 2/);
  assert.throws(() => s.step(plan, r0.state, 1, e.subarray(1), x.subarray(1)), /values/);
  assert.deepEqual(
    s.step(plan, r0.state, 1, e, x).prevSample,
    s.step(plan, r0.state, 1, e, x).prevSample,
  );
});

Deno.test("DPM-Solver++ lambda_min_clipped shortens the schedule's top (cosine models)", () => {
  const cos = { beta_schedule: "squaredcos_cap_v2", timestep_spacing: "linspace" };
  const full = dpm(cos).setTimesteps(5).timesteps;
  const clipped = dpm({ ...cos, lambda_min_clipped: -5.1 }).setTimesteps(5).timesteps;
  assert.deepEqual(full, [999, 799, 599, 400, 200]);
  // numpy: searchsorted(flip(lambda_t), -5.1) = 4, so the top timestep is 995
  assert.deepEqual(clipped, [995, 796, 597, 398, 199]);
});
