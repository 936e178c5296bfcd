/**
 * The contract every inference scheduler meets, run for every kind over several configs
 * (prediction types, spacings, beta schedules) and step counts.
 */
import assert from "node:assert/strict";
import { Rng } from "../../../core/random.ts";
import {
  alphasCumprod,
  createScheduler,
  EulerAncestralScheduler,
  parseSchedulerConfig,
  type Scheduler,
  type SchedulerConfig,
  SchedulerKind,
  type SchedulerPlan,
} from "../../../core/schedulers/mod.ts";

const KINDS = Object.values(SchedulerKind);
const SD2 = {
  beta_schedule: "scaled_linear",
  beta_start: 0.00085,
  beta_end: 0.012,
  prediction_type: "v_prediction",
  steps_offset: 1,
  clip_sample: false,
  set_alpha_to_one: false,
};
const CONFIGS: Record<string, SchedulerConfig> = {
  "sd2 v leading": parseSchedulerConfig(SD2),
  "sd1 eps leading": parseSchedulerConfig({ ...SD2, prediction_type: "epsilon" }),
  "eps trailing": parseSchedulerConfig({
    ...SD2,
    prediction_type: "epsilon",
    steps_offset: 0,
    timestep_spacing: "trailing",
  }),
  "linear linspace": parseSchedulerConfig({ timestep_spacing: "linspace", clip_sample: false }),
  "cosine sample 100": parseSchedulerConfig({
    num_train_timesteps: 100,
    beta_schedule: "squaredcos_cap_v2",
    prediction_type: "sample",
  }),
};

function forEachScheduler(fn: (s: Scheduler, name: string) => void): void {
  for (const kind of KINDS) {
    for (const [name, config] of Object.entries(CONFIGS)) fn(createScheduler(kind, config), name);
  }
}

/** A point the oracle's data distribution is concentrated on (inside clip_sample's range). */
const X0 = Float32Array.from({ length: 32 }, (_, i) => 0.8 * Math.sin(i * 1.3));

/**
 * The exact denoiser of a data distribution concentrated on X0: given the model input x_t and a
 * (possibly fractional) timestep, it returns the config's prediction target. ᾱ at fractional t
 * comes from interpolated sigma, as Euler's sigma schedule does.
 */
function oracle(config: SchedulerConfig): (input: Float32Array, t: number) => Float32Array {
  const sigmas = Array.from(alphasCumprod(config), (a) => Math.sqrt((1 - a) / a));
  return (input, t) => {
    const j = Math.min(Math.floor(t), sigmas.length - 2), w = t - j;
    const sigma = (1 - w) * sigmas[j]! + w * sigmas[j + 1]!;
    const a = 1 / (sigma * sigma + 1), sa = Math.sqrt(a), sb = Math.sqrt(1 - a);
    return input.map((x, i) => {
      const eps = (x - sa * X0[i]!) / sb;
      const type = config.prediction_type;
      return type === "epsilon" ? eps : type === "sample" ? X0[i]! : sa * eps - sb * X0[i]!;
    });
  };
}

function run(s: Scheduler, plan: SchedulerPlan, seed: number, size = 32): Float32Array[] {
  const rng = new Rng(seed), model = oracle(s.config);
  let x: Float32Array = rng.fork("init").normals(size).map((v) => v * plan.initNoiseSigma);
  let state = s.initialState(plan);
  const xs = [x];
  plan.timesteps.forEach((t, i) => {
    const out = model(s.scaleModelInput(plan, x, i), t);
    const noise = s.stochastic ? rng.fork(i).normals(size) : undefined;
    const result = s.step(plan, state, i, out, x, noise);
    if (result.predOriginalSample) {
      const err = Math.max(...result.predOriginalSample.map((v, k) => Math.abs(v - X0[k]!)));
      assert.ok(err < 2e-3, `${s.kind} step ${i}: x0 error ${err}`);
    }
    ({ prevSample: x, state } = result);
    xs.push(x);
  });
  return xs;
}

Deno.test("setTimesteps() gives n distinct, strictly decreasing timesteps in 0..T-1", () => {
  forEachScheduler((s, name) => {
    const T = s.config.num_train_timesteps;
    for (const n of [1, 2, 3, 7, 10, 25, 50, Math.floor(T / 2)]) {
      const plan = s.setTimesteps(n);
      const where = `${s.kind} ${name} n=${n}`;
      assert.equal(plan.kind, s.kind);
      assert.equal(plan.timesteps.length, n, where);
      plan.timesteps.forEach((t, i) => {
        assert.ok(Number.isFinite(t) && t >= 0 && t <= T - 1, `${where}: ${t}`);
        if (i > 0) assert.ok(t < plan.timesteps[i - 1]!, `${where}: not decreasing at ${i}`);
      });
      assert.ok(plan.initNoiseSigma > 0, where);
      assert.ok(Object.isFrozen(plan) && Object.isFrozen(plan.timesteps), where);
    }
  });
});

Deno.test("with an exact denoiser, a full loop keeps the shape and lands on the data", () => {
  forEachScheduler((s, name) => {
    for (const n of [2, 4, 20]) { // (n = 1 with leading spacing starts at t = 1 from pure noise)
      const xs = run(s, s.setTimesteps(n), 1);
      for (const x of xs) {
        assert.equal(x.length, 32);
        assert.ok(x.every(Number.isFinite), `${s.kind} ${name} n=${n}`);
      }
      // what is left is the final sigma's noise: sqrt(1 - ᾱ_0) ≈ 0.03 times |eps| <= ~4
      const err = Math.max(...xs.at(-1)!.map((v, i) => Math.abs(v - X0[i]!)));
      assert.ok(err < 0.15, `${s.kind} ${name} n=${n}: max |x - x0| = ${err}`);
    }
  });
});

Deno.test("step() is deterministic and pure: equal inputs, equal outputs, inputs untouched", () => {
  forEachScheduler((s) => {
    const plan = s.setTimesteps(6);
    assert.deepEqual(run(s, plan, 5), run(s, plan, 5));
    const state = s.initialState(plan);
    const x = new Rng(2).normals(32), m = new Rng(3).normals(32), z = new Rng(4).normals(32);
    const [x2, m2, z2] = [x.slice(), m.slice(), z.slice()];
    const a = s.step(plan, state, 0, m, x, z), b = s.step(plan, state, 0, m, x, z);
    assert.deepEqual(a.prevSample, b.prevSample);
    assert.deepEqual([x, m, z], [x2, m2, z2]);
    assert.notEqual(s.scaleModelInput(plan, x, 0), x);
    assert.deepEqual(x, x2);
  });
});

Deno.test("one instance serves interleaved runs exactly as it serves separate runs", () => {
  forEachScheduler((s) => {
    const planA = s.setTimesteps(8), planB = s.setTimesteps(5);
    const alone = [run(s, planA, 10).at(-1), run(s, planB, 11).at(-1)];
    // interleave two runs step by step on the same instance
    const runs = [{ plan: planA, seed: 10 }, { plan: planB, seed: 11 }].map(({ plan, seed }) => {
      const rng = new Rng(seed);
      return {
        plan,
        rng,
        x: rng.fork("init").normals(32).map((v) => v * plan.initNoiseSigma) as Float32Array,
        state: s.initialState(plan),
      };
    });
    for (let i = 0; i < 8; i++) {
      for (const r of runs) {
        if (i >= r.plan.timesteps.length) continue;
        const out = oracle(s.config)(s.scaleModelInput(r.plan, r.x, i), r.plan.timesteps[i]!);
        const noise = s.stochastic ? r.rng.fork(i).normals(32) : undefined;
        ({ prevSample: r.x, state: r.state } = s.step(r.plan, r.state, i, out, r.x, noise));
      }
    }
    assert.deepEqual(runs.map((r) => r.x), alone);
  });
});

Deno.test("setTimesteps() refuses step counts outside 1..num_train_timesteps", () => {
  forEachScheduler((s) => {
    const T = s.config.num_train_timesteps;
    for (const n of [0, -3, 2.5, Number.NaN, T + 1]) {
      assert.throws(() => s.setTimesteps(n), /numInferenceSteps must be an integer in 1\.\./);
    }
  });
});

Deno.test("step() and scaleModelInput() refuse bad indices, lengths and foreign plans", () => {
  const config = CONFIGS["sd2 v leading"]!;
  for (const kind of KINDS) {
    const s = createScheduler(kind, config);
    const plan = s.setTimesteps(4), state = s.initialState(plan);
    const x = new Float32Array(8), z = new Float32Array(8);
    assert.throws(() => s.step(plan, state, 4, x, x, z), /stepIndex 4 is outside/);
    assert.throws(() => s.step(plan, state, -1, x, x, z), /stepIndex -1/);
    assert.throws(() => s.scaleModelInput(plan, x, 9), /stepIndex 9/);
    assert.throws(() => s.step(plan, state, 0, new Float32Array(7), x, z), /modelOutput has 7/);
    const other = createScheduler(KINDS.find((k) => k !== kind)!, config);
    const otherPlan = other.setTimesteps(4);
    assert.throws(() => s.step(otherPlan, state, 0, x, x, z), /was given to the/);
    assert.throws(() => s.initialState(otherPlan), /plan was given to the/);
    assert.throws(() => s.step(plan, other.initialState(otherPlan), 0, x, x, z), /state/);
    if (s.stochastic) assert.throws(() => s.step(plan, state, 0, x, x), /noise/);
  }
});

Deno.test("createScheduler() refuses unknown kinds and options a kind does not take", () => {
  const config = CONFIGS["sd2 v leading"]!;
  assert.throws(() => createScheduler("pndm" as SchedulerKind, config), /unknown scheduler kind/);
  assert.throws(
    () => createScheduler(SchedulerKind.EulerAncestral, config, { eta: 0.5 }),
    /eta is a DDIM option/,
  );
});

Deno.test("every kind runs a zero-terminal-SNR v-prediction config (ᾱ_T = 2^-24 for the sigma samplers, as diffusers)", () => {
  const zeroSnr = parseSchedulerConfig({
    ...SD2,
    rescale_betas_zero_snr: true,
    timestep_spacing: "trailing",
    steps_offset: 0,
  });
  // sigma at t = 999 from ᾱ = 2^-24, in float32 as diffusers computes it
  const sigmaMax = Math.fround(Math.sqrt((1 - 2 ** -24) / 2 ** -24));
  const euler = new EulerAncestralScheduler(zeroSnr).setTimesteps(10);
  assert.equal(euler.timesteps[0], 999);
  assert.ok(Math.abs(euler.sigmas[0]! - sigmaMax) / sigmaMax < 1e-6, `${euler.sigmas[0]}`);
  assert.equal(euler.initNoiseSigma, euler.sigmas[0], "trailing: init sigma is sigma_max");
  for (const kind of Object.values(SchedulerKind)) {
    const s = createScheduler(kind, zeroSnr);
    const plan = s.setTimesteps(10);
    assert.equal(plan.timesteps.length, 10);
    let x = new Float32Array([0.3, -1.2, 0.8, 0.1]).map((v) => v * plan.initNoiseSigma);
    let state = s.initialState(plan);
    for (let i = 0; i < plan.timesteps.length; i++) {
      const input = s.scaleModelInput(plan, x, i);
      const noise = s.stochastic ? new Float32Array(4).fill(0.1) : undefined;
      const r = s.step(plan, state, i, input.map((v) => 0.5 * v), x, noise);
      [x, state] = [r.prevSample, r.state];
      assert.ok(x.every(Number.isFinite), `${kind} step ${i}: ${x}`);
    }
  }
});
