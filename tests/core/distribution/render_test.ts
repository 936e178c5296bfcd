/** core/distribution/render.ts: stored distributions as sampled without a template. */
import assert from "node:assert/strict";
import { storedDistribution } from "../../../core/distribution/render.ts";
import { PromptDistribution } from "../../../core/distribution/prompt_distribution.ts";

const shape = [1, 2] as const;

Deno.test("storedDistribution() keeps mu and sigma as stored and takes the spread of the features", () => {
  const features = { data: Float32Array.from([0, 0, 2, 4]) };
  const mu = { data: Float32Array.from([9, 9]) }; // as stored, even if not the features' mean
  const sigma = { data: Float32Array.from([0.5, 0.5]) };
  const d = storedDistribution(2, { mu, sigma, features }, shape);
  assert.deepEqual([...d.mu], [9, 9]);
  assert.deepEqual([...d.sigma], [0.5, 0.5]);
  const expected = PromptDistribution.withFeatures(features.data, 2, shape).spread!;
  assert.deepEqual(d.spread, expected);
});

Deno.test("storedDistribution(): one prompt has a zero spread; no features, no spread", () => {
  const one = { data: Float32Array.from([1, 2]) };
  const ti = storedDistribution(1, { mu: one, sigma: { data: new Float32Array(2) } }, shape);
  assert.ok(ti.spread!.deviations.every((v) => v === 0));
  const old = storedDistribution(3, { mu: one, sigma: one }, shape);
  assert.equal(old.spread, undefined);
});
