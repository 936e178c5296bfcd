import assert from "node:assert/strict";
import {
  addNoise,
  alphasCumprod,
  getVelocity,
  minSnrWeights,
  parseSchedulerConfig,
  snr,
  trainingTarget,
} from "../../../core/schedulers/mod.ts";
import { FIXTURES, type JsonArray, readJson } from "../../helpers/fixtures.ts";

const DIR = "diffusers-tiny-sd2/";

interface DdpmReference {
  timesteps: JsonArray;
  original_samples: JsonArray;
  noise: JsonArray;
  add_noise: JsonArray;
  get_velocity: JsonArray;
}

async function load() {
  const ref = (await readJson<{ ddpm: DdpmReference }>(`${DIR}reference.json`)).ddpm;
  const json = JSON.parse(
    await Deno.readTextFile(`${FIXTURES}${DIR}scheduler/scheduler_config.json`),
  ) as Record<string, unknown>;
  return {
    ref,
    json,
    config: parseSchedulerConfig(json),
    x0: Float32Array.from(ref.original_samples.data),
    noise: Float32Array.from(ref.noise.data),
    t: ref.timesteps.data,
  };
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - Math.fround(b[i]!)));
  return m;
}

Deno.test("addNoise() and getVelocity() equal DDPMScheduler's bit for bit", async () => {
  const { ref, config, x0, noise, t } = await load();
  assert.deepEqual(t, [0, 999, 500]);
  assert.equal(maxAbs(addNoise(config, x0, noise, t), ref.add_noise.data), 0);
  assert.equal(maxAbs(getVelocity(config, x0, noise, t), ref.get_velocity.data), 0);
});

Deno.test("trainingTarget() is noise, velocity or x0 by prediction_type", async () => {
  const { ref, json, x0, noise, t } = await load();
  const target = (type: string) =>
    trainingTarget(parseSchedulerConfig({ ...json, prediction_type: type }), x0, noise, t);
  assert.equal(maxAbs(target("v_prediction"), ref.get_velocity.data), 0);
  assert.deepEqual(target("epsilon"), noise);
  assert.deepEqual(target("sample"), x0);
  assert.notEqual(target("epsilon"), noise); // a fresh array
});

Deno.test("v-prediction identities: x0 = √ᾱ x_t − √(1−ᾱ) v and ε = √ᾱ v + √(1−ᾱ) x_t", async () => {
  const { config, x0, noise, t } = await load();
  const xt = addNoise(config, x0, noise, t), v = getVelocity(config, x0, noise, t);
  const ac = alphasCumprod(config), size = x0.length / t.length;
  let worst = 0;
  for (let i = 0; i < x0.length; i++) {
    const a = ac[t[Math.floor(i / size)]!]!;
    const x0Back = Math.sqrt(a) * xt[i]! - Math.sqrt(1 - a) * v[i]!;
    const epsBack = Math.sqrt(a) * v[i]! + Math.sqrt(1 - a) * xt[i]!;
    worst = Math.max(worst, Math.abs(x0Back - x0[i]!), Math.abs(epsBack - noise[i]!));
  }
  assert.ok(worst < 1e-6, `${worst}`);
});

Deno.test("snr() and minSnrWeights() follow Hang et al. for each prediction type", async () => {
  const { json } = await load();
  const ts = [0, 250, 500, 999];
  const cfg = (type: string) => parseSchedulerConfig({ ...json, prediction_type: type });
  const s = snr(cfg("epsilon"), ts);
  const ac = alphasCumprod(cfg("epsilon"));
  ts.forEach((t, i) => assert.equal(s[i], ac[t]! / (1 - ac[t]!)));
  assert.ok(s[0]! > 5 && s[3]! < 5);
  const eps = minSnrWeights(cfg("epsilon"), ts, 5);
  const v = minSnrWeights(cfg("v_prediction"), ts, 5);
  const x0 = minSnrWeights(cfg("sample"), ts);
  ts.forEach((_, i) => {
    const g = Math.min(s[i]!, 5);
    assert.equal(eps[i], Math.fround(g / s[i]!));
    assert.equal(v[i], Math.fround(g / (s[i]! + 1)));
    assert.equal(x0[i], Math.fround(g));
  });
  assert.equal(eps[3], 1); // low SNR: plain epsilon loss
  assert.ok(v[0]! < 1 && v[3]! < 1);
});

Deno.test("DDPM helpers refuse bad timesteps, batch splits and gamma", async () => {
  const { config, x0, noise } = await load();
  assert.throws(() => addNoise(config, x0, noise, [0, 1000, 5]), /timestep 1000 \(item 1\)/);
  assert.throws(() => addNoise(config, x0, noise, [0, 1.5, 5]), /timestep 1.5/);
  assert.throws(() => addNoise(config, x0, noise, [0, 1, 2, 3, 4]), /do not split into 5/);
  assert.throws(() => addNoise(config, x0, noise.subarray(1), [0, 1, 2]), /values/);
  assert.throws(() => getVelocity(config, x0, noise, []), /do not split into 0/);
  assert.throws(() => snr(config, [-1]), /timestep -1/);
  assert.throws(() => minSnrWeights(config, [1], 0), /gamma must be > 0/);
});
