import assert from "node:assert/strict";
import { AdamW } from "../../../core/optim/adamw.ts";

/** PyTorch's AdamW written out scalar by scalar (torch/optim/adamw.py, single tensor path). */
function reference(p0: number[], grads: number[][], lr: number, wd: number, clip: number) {
  const p = [...p0], m = p.map(() => 0), v = p.map(() => 0);
  grads.forEach((g, k) => {
    const t = k + 1;
    const norm = Math.sqrt(g.reduce((a, x) => a + x * x, 0));
    const c = clip > 0 ? Math.min(1, clip / (norm + 1e-6)) : 1;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i]! * c;
      p[i] = p[i]! * (1 - lr * wd);
      m[i] = 0.9 * m[i]! + 0.1 * gi;
      v[i] = 0.999 * v[i]! + 0.001 * gi * gi;
      const mh = m[i]! / (1 - 0.9 ** t), vh = v[i]! / (1 - 0.999 ** t);
      p[i] = p[i]! - lr * mh / (Math.sqrt(vh) + 1e-8);
    }
  });
  return p;
}

Deno.test("AdamW.step follows PyTorch's AdamW with decoupled decay and norm clipping", () => {
  const p0 = [0.5, -1, 2, 0];
  const grads = [[0.1, -0.2, 3, 0], [0.4, 0.4, -0.1, 1e-3], [2, -2, 2, -2]];
  const p = Float32Array.from(p0);
  const opt = new AdamW(4, { lr: 1e-2 });
  const infos = grads.map((g) => opt.step(p, g));
  const want = reference(p0, grads, 1e-2, 1e-2, 1);
  p.forEach((x, i) => assert.ok(Math.abs(x - want[i]!) < 1e-6, `${i}: ${x} vs ${want[i]}`));
  assert.ok(infos[0]!.clipScale < 1, "norm 3.01 is clipped to 1");
  assert.equal(infos[1]!.clipScale, 1);
});

Deno.test("AdamW's first step moves each parameter by about lr against its gradient sign", () => {
  const p = Float32Array.from([1, 1]);
  new AdamW(2, { lr: 1e-3, weightDecay: 0, maxGradNorm: 0 }).step(p, [5, -0.01]);
  assert.ok(Math.abs(p[0]! - (1 - 1e-3)) < 1e-6 && Math.abs(p[1]! - (1 + 1e-3)) < 1e-6);
});

Deno.test("AdamW refuses bad options, wrong sizes and non-finite gradients", () => {
  assert.throws(() => new AdamW(2, { lr: 0 }), /lr must be > 0/);
  assert.throws(() => new AdamW(2, { beta1: 1 }), /betas/);
  const opt = new AdamW(2);
  assert.throws(() => opt.step(new Float32Array(3), [1, 2, 3]), /expected 2 values/);
  assert.throws(() => opt.step(new Float32Array(2), [NaN, 0]), /not finite/);
});
