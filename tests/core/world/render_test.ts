import assert from "node:assert/strict";
import { Rng } from "../../../core/random.ts";
import {
  degrade,
  insideShape,
  jitteredCentres,
  MARGIN,
  render,
} from "../../../core/world/render.ts";
import {
  BACKGROUND_RGB,
  enumerateScenes,
  HALF_EXTENT,
  OBJECT_RGB,
  sampleScene,
  WORLD_SIZE,
} from "../../../core/world/scene.ts";

const scene = {
  kind: "circle",
  colour: "red",
  size: "small",
  count: "two",
  position: "top",
  background: "dark blue",
} as const;

Deno.test("render() is deterministic per seed; no seed gives the canonical layout", () => {
  assert.deepEqual(render(scene, 5).data, render(scene, 5).data);
  assert.deepEqual(render(scene).data, render(scene).data);
  const layouts = new Set(Array.from({ length: 20 }, (_, i) => jitteredCentres(scene, i).join()));
  assert.ok(layouts.size > 3, "jitter moves the layout");
  const img = render(scene);
  assert.deepEqual([img.width, img.height, img.data.length], [32, 32, 32 * 32 * 3]);
});

Deno.test("render() draws only palette colours, every object whole, inside the margin", () => {
  const rng = new Rng(1);
  const scenes = enumerateScenes();
  for (let i = 0; i < scenes.length; i++) {
    const s = scenes[i]!, seed = Math.floor(rng.uniform() * 1e9);
    const img = render(s, seed);
    const h = HALF_EXTENT[s.size];
    const centres = jitteredCentres(s, seed);
    for (const [x, y] of centres) {
      assert.ok(x - h >= MARGIN && y - h >= MARGIN, `${JSON.stringify(s)}`);
      assert.ok(x + h <= WORLD_SIZE - 1 - MARGIN && y + h <= WORLD_SIZE - 1 - MARGIN);
    }
    if (centres.length === 2) {
      const [a, b] = centres;
      const gap = Math.max(Math.abs(a![0] - b![0]), Math.abs(a![1] - b![1])) - (2 * h + 1);
      assert.equal(gap, 3);
    }
    let shapeArea = 0;
    for (let dy = -h; dy <= h; dy++) {
      for (let dx = -h; dx <= h; dx++) if (insideShape(s.kind, dx, dy, h)) shapeArea++;
    }
    const fg = OBJECT_RGB[s.colour], bg = BACKGROUND_RGB[s.background];
    let nFg = 0, nBg = 0;
    for (let p = 0; p < img.data.length; p += 3) {
      const px = [...img.data.subarray(p, p + 3)].join();
      if (px === fg.join()) nFg++;
      else if (px === bg.join()) nBg++;
    }
    assert.equal(nFg, shapeArea * centres.length);
    assert.equal(nFg + nBg, WORLD_SIZE * WORLD_SIZE);
  }
});

Deno.test("shapes have the documented sizes and fill ratios", () => {
  const area = (kind: "circle" | "square" | "triangle", h: number) => {
    let a = 0;
    for (let dy = -h; dy <= h; dy++) {
      for (let dx = -h; dx <= h; dx++) a += +insideShape(kind, dx, dy, h);
    }
    return a;
  };
  assert.deepEqual([area("square", 4), area("circle", 4), area("triangle", 4)], [81, 69, 41]);
  assert.deepEqual([area("square", 6), area("circle", 6), area("triangle", 6)], [169, 137, 85]);
});

Deno.test("degrade() is deterministic, identity at zero, and noisy otherwise", () => {
  const img = render(sampleScene(new Rng(2)), 2);
  assert.deepEqual(degrade(img, 1, { blur: 0, noise: 0 }).data, img.data);
  assert.deepEqual(degrade(img, 1).data, degrade(img, 1).data);
  assert.notDeepEqual(degrade(img, 1).data, degrade(img, 2).data);
  const noisy = degrade(img, 3, { blur: 0, noise: 20 });
  let sq = 0;
  for (let i = 0; i < img.data.length; i++) sq += (noisy.data[i]! - img.data[i]!) ** 2;
  const sd = Math.sqrt(sq / img.data.length);
  assert.ok(sd > 15 && sd < 21, `noise sd ${sd}`);
});
