/** guidance_rescale against diffusers' rescale_noise_cfg, on hand-made predictions. */
import assert from "node:assert/strict";
import { guide } from "../../../core/pipeline/txt2img.ts";

/** diffusers' formula, written out: per image, torch.std (unbiased) over all other dims. */
function rescaleNoiseCfg(u: number[], c: number[], g: number, phi: number): number[] {
  const cfg = u.map((x, i) => x + g * (c[i]! - x));
  const std = (x: number[]) => {
    const m = x.reduce((a, b) => a + b, 0) / x.length;
    return Math.sqrt(x.reduce((a, b) => a + (b - m) ** 2, 0) / (x.length - 1));
  };
  const rescaled = cfg.map((x) => x * (std(c) / std(cfg)));
  return cfg.map((x, i) => phi * rescaled[i]! + (1 - phi) * x);
}

Deno.test("guide: phi 0.7 on a hand-made case gives diffusers' exact values", () => {
  // u = 0, c = [1, 2, 3, 4], g = 2: cfg = 2c, std ratio 1/2, so 0.7 c + 0.3 (2c) = 1.3 c.
  const out = guide(Float32Array.from([0, 0, 0, 0, 1, 2, 3, 4]), 1, 4, 2, 0.7);
  assert.deepEqual([...out].map((v) => Math.round(v * 1e6) / 1e6), [1.3, 2.6, 3.9, 5.2]);
});

Deno.test("guide: matches rescale_noise_cfg per image on random batches; phi 0 is plain CFG", () => {
  const size = 12, images = 3;
  const u = Array.from({ length: images * size }, (_, i) => Math.sin(i * 0.7));
  const c = Array.from({ length: images * size }, (_, i) => Math.cos(i * 1.3) * (1 + (i % 5)));
  const pred = Float32Array.from([...u, ...c]);
  for (const [g, phi] of [[3, 0.7], [7.5, 1], [1.5, 0.3], [3, 0]] as const) {
    const got = guide(pred, images, size, g, phi);
    for (let b = 0; b < images; b++) {
      const want = rescaleNoiseCfg(
        u.slice(b * size, (b + 1) * size),
        c.slice(b * size, (b + 1) * size),
        g,
        phi,
      );
      want.forEach((w, i) => {
        const v = got[b * size + i]!;
        assert.ok(Math.abs(v - w) <= 1e-5 * (1 + Math.abs(w)), `g ${g} phi ${phi}: ${v} vs ${w}`);
      });
    }
  }
});
