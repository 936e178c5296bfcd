import assert from "node:assert/strict";
import { Rng } from "../../core/random.ts";

Deno.test("Rng gives the recorded golden values for fixed seeds", () => {
  const a = new Rng(0);
  assert.deepEqual([a.nextUint32(), a.nextUint32(), a.nextUint32()], [
    2892058625,
    3526371764,
    3346411695,
  ]);
  const b = new Rng(42);
  assert.deepEqual([b.uniform(), b.uniform()], [0.03225535811898961, 0.4251578981510097]);
  assert.deepEqual([b.normal(), b.normal(), b.normal()], [
    -2.1750839416571965,
    0.4720909212788625,
    -0.8700826607010597,
  ]);
  assert.deepEqual(Array.from(new Rng(42).fork("latents").fork(0).normals(3)), [
    1.3865503072738647,
    1.2834640741348267,
    1.582618236541748,
  ]);
  assert.equal(new Rng(-1).uniform(), 0.9541806863418509);
  assert.equal(new Rng(2 ** 53 - 1).uniform(), 0.8857698789423951);
});

Deno.test("Rng is deterministic per seed and differs across seeds", () => {
  const x = new Rng(123).normals(1000), y = new Rng(123).normals(1000);
  assert.deepEqual(x, y);
  assert.notDeepEqual(new Rng(124).normals(1000), x);
  assert.notDeepEqual(new Rng(-123).normals(1000), x);
});

Deno.test("Rng.uniform() lies in [0, 1) with mean 1/2 and variance 1/12", () => {
  const rng = new Rng(5), n = 100_000;
  let sum = 0, sq = 0;
  for (let i = 0; i < n; i++) {
    const u = rng.uniform();
    assert.ok(u >= 0 && u < 1);
    sum += u;
    sq += u * u;
  }
  const mean = sum / n;
  assert.ok(Math.abs(mean - 0.5) < 0.005, `mean ${mean}`);
  assert.ok(Math.abs(sq / n - mean * mean - 1 / 12) < 0.002);
});

Deno.test("Rng.normals() of 1e5 values has mean 0, std 1, no skew and normal tails", () => {
  const z = new Rng(2024).normals(100_000);
  let m1 = 0, m2 = 0, m3 = 0, beyond2 = 0;
  for (const v of z) {
    m1 += v;
    m2 += v * v;
    m3 += v * v * v;
    if (Math.abs(v) > 2) beyond2++;
  }
  const n = z.length, mean = m1 / n, std = Math.sqrt(m2 / n - mean * mean);
  assert.ok(Math.abs(mean) < 0.01, `mean ${mean}`); // 3.2 standard errors
  assert.ok(Math.abs(std - 1) < 0.01, `std ${std}`);
  assert.ok(Math.abs(m3 / n) < 0.03, `third moment ${m3 / n}`);
  assert.ok(Math.abs(beyond2 / n - 0.0455) < 0.003, `P(|z|>2) = ${beyond2 / n}`);
});

Deno.test("Rng.normal() returns the cached Box-Muller partner on every second call", () => {
  const a = new Rng(9), b = new Rng(9);
  const pair = [a.normal(), a.normal()];
  assert.deepEqual(Array.from(b.normals(2)), pair.map(Math.fround));
});

function correlation(x: Float32Array, y: Float32Array): number {
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < x.length; i++) {
    sxy += x[i]! * y[i]!;
    sxx += x[i]! * x[i]!;
    syy += y[i]! * y[i]!;
  }
  return sxy / Math.sqrt(sxx * syy);
}

Deno.test("Rng.fork() streams are independent of each other and of the parent", () => {
  const root = new Rng(77), n = 20_000, bound = 4 / Math.sqrt(n);
  const streams = [root.fork(0), root.fork(1), root.fork("0"), root.fork("a"), root.fork("b")]
    .map((r) => r.normals(n));
  streams.push(new Rng(77).normals(n), new Rng(78).fork(0).normals(n));
  for (let i = 0; i < streams.length; i++) {
    for (let j = i + 1; j < streams.length; j++) {
      const c = correlation(streams[i]!, streams[j]!);
      assert.ok(Math.abs(c) < bound, `streams ${i}, ${j}: correlation ${c}`);
    }
  }
  // lagged correlation between sibling forks (a shifted copy would show up here)
  const c = correlation(streams[0]!.subarray(1), streams[1]!.subarray(0, n - 1));
  assert.ok(Math.abs(c) < bound);
});

Deno.test("Rng.fork() depends only on the key and the label, not on draws", () => {
  const a = new Rng(3), b = new Rng(3);
  b.normals(17);
  assert.deepEqual(a.fork("img").fork(2).normals(8), b.fork("img").fork(2).normals(8));
  assert.deepEqual(a.fork(5).normals(4), a.fork(5).normals(4));
  assert.notDeepEqual(a.fork(5).normals(4), a.fork("5").normals(4));
  assert.notDeepEqual(a.fork("ab").normals(4), a.fork("ab\0").normals(4));
  assert.notDeepEqual(a.fork(1).fork(2).normals(4), a.fork(2).fork(1).normals(4));
  assert.notDeepEqual(a.fork(0).normals(4), new Rng(3).normals(4));
});

Deno.test("Rng refuses seeds and labels that are not safe integers", () => {
  assert.throws(() => new Rng(1.5), /seed must be a safe integer/);
  assert.throws(() => new Rng(Number.NaN), /seed/);
  assert.throws(() => new Rng(2 ** 53), /seed/);
  assert.throws(() => new Rng(1).fork(0.5), /fork label/);
  assert.throws(() => new Rng(1).normals(-1), /n must be/);
});
