/**
 * Every scheduler against diffusers v0.24 (tests/fixtures/diffusers-tiny-sd2/reference.json,
 * sections `schedulers.*`): timesteps, sigmas, and full 10-step trajectories run free (each step
 * starts from our own previous output). Tolerance 1e-5 max abs error; float32 torch vs our
 * float64 arithmetic differ by ~1e-6 here.
 */
import assert from "node:assert/strict";
import {
  createScheduler,
  parseSchedulerConfig,
  type Scheduler,
  type SchedulerConfig,
  SchedulerKind,
  type SchedulerPlan,
} from "../../../core/schedulers/mod.ts";
import { FIXTURES, type JsonArray, readJson } from "../../helpers/fixtures.ts";

const DIR = "diffusers-tiny-sd2/";
const TOL = 1e-5;

interface Trajectory {
  timesteps: JsonArray;
  init_noise_sigma: number;
  initial_sample: JsonArray;
  model_outputs: JsonArray[];
  prev_samples: JsonArray[];
  pred_original_samples?: JsonArray[];
  scaled_model_inputs?: JsonArray[];
  scale_model_input_is_identity: boolean;
  sigmas?: JsonArray;
  noises?: JsonArray[];
}

interface Reference {
  schedulers: {
    ddim: {
      timesteps_50: JsonArray;
      step50:
        & Record<"sample" | "model_output" | "prev_sample" | "pred_original_sample", JsonArray>
        & {
          timestep: number;
          eta: number;
        };
      trajectory_10: Trajectory;
    };
    euler_ancestral: { trajectory_10: Trajectory };
    dpmsolver_multistep: { trajectory_10: Trajectory };
  };
  txt2img: { timesteps: JsonArray };
}

const f32 = (a: JsonArray) => Float32Array.from(a.data);

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - Math.fround(b[i]!)));
  return m;
}

async function load(): Promise<{ ref: Reference; config: SchedulerConfig }> {
  const json = JSON.parse(
    await Deno.readTextFile(`${FIXTURES}${DIR}scheduler/scheduler_config.json`),
  );
  return {
    ref: await readJson<Reference>(`${DIR}reference.json`),
    config: parseSchedulerConfig(json),
  };
}

/** Runs the recorded loop; returns the worst errors of prev samples, x0s and model inputs. */
function runTrajectory(s: Scheduler, plan: SchedulerPlan, tr: Trajectory) {
  let x: Float32Array = f32(tr.initial_sample), state = s.initialState(plan);
  const worst = { prev: 0, x0: 0, input: 0 };
  for (let i = 0; i < plan.timesteps.length; i++) {
    const input = s.scaleModelInput(plan, x, i);
    const expectedInput = tr.scaled_model_inputs?.[i]?.data ?? Array.from(x);
    worst.input = Math.max(worst.input, maxAbs(input, expectedInput));
    const noise = tr.noises ? f32(tr.noises[i]!) : undefined;
    const out = s.step(plan, state, i, f32(tr.model_outputs[i]!), x, noise);
    worst.prev = Math.max(worst.prev, maxAbs(out.prevSample, tr.prev_samples[i]!.data));
    const x0 = tr.pred_original_samples?.[i];
    if (x0) worst.x0 = Math.max(worst.x0, maxAbs(out.predOriginalSample!, x0.data));
    x = out.prevSample;
    state = out.state;
  }
  return worst;
}

function assertWorst(worst: Record<string, number>): void {
  for (const [k, v] of Object.entries(worst)) assert.ok(v <= TOL, `${k}: ${v}`);
}

Deno.test("DDIM matches diffusers: timesteps_50 and step50 at t=781", async () => {
  const { ref, config } = await load();
  const ddim = createScheduler(SchedulerKind.DDIM, config);
  const plan = ddim.setTimesteps(50);
  assert.deepEqual(plan.timesteps, ref.schedulers.ddim.timesteps_50.data);
  const s = ref.schedulers.ddim.step50;
  const i = plan.timesteps.indexOf(s.timestep);
  assert.equal(i, 10);
  assert.equal(s.eta, 0);
  const out = ddim.step(plan, ddim.initialState(plan), i, f32(s.model_output), f32(s.sample));
  assertWorst({
    prev: maxAbs(out.prevSample, s.prev_sample.data),
    x0: maxAbs(out.predOriginalSample!, s.pred_original_sample.data),
  });
});

Deno.test("DDIM gives the txt2img pipeline's 5 timesteps and init_noise_sigma 1", async () => {
  const { ref, config } = await load();
  const plan = createScheduler(SchedulerKind.DDIM, config).setTimesteps(5);
  assert.deepEqual(plan.timesteps, ref.txt2img.timesteps.data);
  assert.equal(plan.initNoiseSigma, 1);
});

Deno.test("DDIM matches diffusers over trajectory_10", async () => {
  const { ref, config } = await load();
  const tr = ref.schedulers.ddim.trajectory_10;
  const ddim = createScheduler(SchedulerKind.DDIM, config);
  const plan = ddim.setTimesteps(10);
  assert.deepEqual(plan.timesteps, tr.timesteps.data);
  assert.equal(plan.initNoiseSigma, tr.init_noise_sigma);
  assert.ok(tr.scale_model_input_is_identity);
  const worst = runTrajectory(ddim, plan, tr);
  assert.equal(worst.input, 0);
  assertWorst(worst);
});

Deno.test("Euler ancestral matches diffusers over trajectory_10 with the recorded noise", async () => {
  const { ref, config } = await load();
  const tr = ref.schedulers.euler_ancestral.trajectory_10;
  const euler = createScheduler(SchedulerKind.EulerAncestral, config);
  const plan = euler.setTimesteps(10) as SchedulerPlan & { sigmas: readonly number[] };
  assert.deepEqual(plan.timesteps, tr.timesteps.data.map(Math.fround));
  assert.deepEqual(plan.sigmas, tr.sigmas!.data.map(Math.fround));
  assert.equal(plan.initNoiseSigma, Math.fround(tr.init_noise_sigma));
  assert.ok(!tr.scale_model_input_is_identity);
  assertWorst(runTrajectory(euler, plan, tr));
  // from the recorded x, x / sqrt(sigma^2 + 1) is float32 arithmetic: equal bit for bit
  tr.scaled_model_inputs!.forEach((expected, i) => {
    const x = f32(i === 0 ? tr.initial_sample : tr.prev_samples[i - 1]!);
    assert.equal(maxAbs(euler.scaleModelInput(plan, x, i), expected.data), 0);
  });
});

Deno.test("DPM-Solver++(2M) matches diffusers over trajectory_10", async () => {
  const { ref, config } = await load();
  const tr = ref.schedulers.dpmsolver_multistep.trajectory_10;
  const dpm = createScheduler(SchedulerKind.DPMSolverPP2M, config);
  const plan = dpm.setTimesteps(10) as SchedulerPlan & { sigmas: readonly number[] };
  assert.deepEqual(plan.timesteps, tr.timesteps.data);
  assert.deepEqual(plan.sigmas, tr.sigmas!.data.map(Math.fround));
  assert.ok(Math.abs(plan.sigmas[10]! - 0.0291675) < 1e-7); // sigma(t=0), not 0
  assert.equal(plan.initNoiseSigma, tr.init_noise_sigma);
  assert.ok(tr.scale_model_input_is_identity);
  const worst = runTrajectory(dpm, plan, tr);
  assert.equal(worst.input, 0);
  assertWorst(worst);
});
