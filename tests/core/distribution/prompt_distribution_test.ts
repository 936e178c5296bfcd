import assert from "node:assert/strict";
import { PromptDistribution } from "../../../core/distribution/prompt_distribution.ts";

/** A tiny deterministic normal source for tests. */
function normals(seed: number) {
  let s = seed >>> 0;
  const u = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
  return {
    normals: (n: number) =>
      Float32Array.from(
        { length: n },
        () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()),
      ),
  };
}

const shape = [2, 3] as const;
const K = 4;
const c = Float32Array.from({ length: K * 6 }, (_, i) => Math.sin(i * 1.7) * (1 + (i % 3)));

Deno.test("fromFeatures gives the per-element mean and unbiased (or population) std over K", () => {
  const d = PromptDistribution.fromFeatures(c, K, shape);
  const p = PromptDistribution.fromFeatures(c, K, shape, "population");
  for (let j = 0; j < 6; j++) {
    const xs = [0, 1, 2, 3].map((k) => c[k * 6 + j]!);
    const m = xs.reduce((a, b) => a + b) / K;
    const ss = xs.reduce((a, x) => a + (x - m) ** 2, 0);
    assert.ok(Math.abs(d.mu[j]! - m) < 1e-6);
    assert.ok(Math.abs(d.sigma[j]! - Math.sqrt(ss / (K - 1))) < 1e-6);
    assert.ok(Math.abs(p.sigma[j]! - Math.sqrt(ss / K)) < 1e-6);
  }
  assert.throws(() => PromptDistribution.fromFeatures(c.subarray(0, 6), 1, shape), /K >= 2/);
});

Deno.test("sample(gamma = 0) gives identical c~ for every image; gamma scales the spread", () => {
  const d = PromptDistribution.fromFeatures(c, K, shape);
  const many = d.scaled(0).sampleMany(5, normals(1));
  for (let i = 1; i < 5; i++) {
    assert.deepEqual(many.subarray(i * 6, i * 6 + 6), many.subarray(0, 6));
  }
  assert.deepEqual(many.subarray(0, 6), d.mu);
  const spread = (gamma: number) => {
    const s = d.scaled(gamma).sampleMany(2000, normals(7));
    let acc = 0;
    for (let i = 0; i < s.length; i++) acc += (s[i]! - d.mu[i % 6]!) ** 2;
    return Math.sqrt(acc / s.length);
  };
  const [s1, s2] = [spread(1), spread(2)];
  assert.ok(Math.abs(s2 / s1 - 2) < 1e-3, `ratio ${s2 / s1}`);
  assert.throws(() => d.scaled(-1), /gamma/);
});

Deno.test("mix: weights (1, 0) reproduce the first distribution exactly; (a, 1-a) interpolates mu", () => {
  const a = PromptDistribution.fromFeatures(c, K, shape);
  const b = PromptDistribution.fromFeatures(c.map((x) => x * 2 + 1), K, shape);
  for (const mode of ["paper", "rms"] as const) {
    const m = PromptDistribution.mix([a, b], [1, 0], mode);
    assert.deepEqual(m.mu, a.mu);
    assert.deepEqual(m.sigma, a.sigma);
  }
  const half = PromptDistribution.mix([a, b], [0.25, 0.75]);
  for (let j = 0; j < 6; j++) {
    assert.ok(Math.abs(half.mu[j]! - (0.25 * a.mu[j]! + 0.75 * b.mu[j]!)) < 1e-6);
    assert.ok(
      Math.abs(half.sigma[j]! - (0.5 * a.sigma[j]! + Math.sqrt(0.75) * b.sigma[j]!)) < 1e-6,
    );
  }
  assert.throws(() => PromptDistribution.mix([a, b], [0.5, 0.6]), /sum to 1/);
  assert.throws(() => PromptDistribution.mix([a, b], [1.5, -0.5]), />= 0/);
  const other = new PromptDistribution(new Float32Array(4), new Float32Array(4), [2, 2]);
  assert.throws(() => PromptDistribution.mix([a, other], [0.5, 0.5]), /different feature shapes/);
});
