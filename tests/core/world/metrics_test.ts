import assert from "node:assert/strict";
import { analyse } from "../../../core/world/analyse.ts";
import { CONCEPTS } from "../../../core/world/concepts.ts";
import {
  coverage,
  densityCoverage,
  distinctCombinations,
  EMBED_DIM,
  embedImage,
  fidelity,
} from "../../../core/world/metrics.ts";
import { render } from "../../../core/world/render.ts";
import type { Scene } from "../../../core/world/scene.ts";

const a: Scene = {
  kind: "circle",
  colour: "red",
  size: "small",
  count: "one",
  position: "top",
  background: "black",
};

Deno.test("densityCoverage() matches hand-computed values on a 1-D toy set (k = 2)", () => {
  // radii (2nd nearest other real point): 0→2, 1→1, 2→1, 3→2, 10→8
  const real = [[0], [1], [2], [3], [10]];
  // 0.5 lies in the balls of 0 and 1; 20 in none. Covered: 0 and 1 of 5 real points.
  assert.deepEqual(densityCoverage(real, [[0.5], [20]], 2), { density: 2 / 4, coverage: 2 / 5 });
  // identical sets: every ball holds its own centre; counts per fake 1, 2, 2, 2, 1
  assert.deepEqual(densityCoverage(real, real, 2), { density: 8 / 10, coverage: 1 });
  // balls are open: 2 is at distance exactly r = 2 from 0 and counts only for 2 (and 3)
  assert.deepEqual(densityCoverage(real, [[2]], 2), { density: 2 / 2, coverage: 2 / 5 });
  // far away: nothing
  assert.deepEqual(densityCoverage(real, [[100], [-50]], 2), { density: 0, coverage: 0 });
});

Deno.test("densityCoverage() on 2-D points and its errors", () => {
  const sq = [[0, 0], [1, 0], [0, 1], [1, 1], [0.5, 0.5], [5, 5]];
  const dc = densityCoverage(sq, sq.slice(0, 5), 1);
  // k=1 radii: 4 corners 0.7071 (to the centre), centre 0.7071, (5,5) 5.657.
  // fakes hit only their own ball (neighbours sit exactly at distance r): density 5/5, coverage 5/6
  assert.deepEqual(dc, { density: 1, coverage: 5 / 6 });
  assert.throws(() => densityCoverage([[0], [1]], [[0]], 2), RangeError);
  assert.throws(() => densityCoverage([[0], [1], [2]], [], 1), RangeError);
  assert.throws(() => densityCoverage([[0], [1], [2]], [[0, 1]], 1), RangeError);
  assert.throws(() => densityCoverage([[0], [1], [2]], [[0]], 0), RangeError);
});

Deno.test("fidelity(), coverage() and distinctCombinations() count attribute combinations", () => {
  const warm = CONCEPTS["warm-shapes-dark"];
  const b: Scene = { ...a, colour: "orange" }, out: Scene = { ...a, kind: "square" };
  assert.equal(fidelity([a, b, out, null], warm), 0.5);
  assert.equal(coverage([a, null, out], [a, b, b]), 0.5);
  assert.equal(coverage([a, b], [a, b]), 1);
  assert.equal(distinctCombinations([a, a, b, null, out]), 3);
  assert.throws(() => fidelity([], warm), RangeError);
  assert.throws(() => coverage([a], []), RangeError);
});

Deno.test("embedImage() pools 4x4 cells; the concept's own references cover themselves", () => {
  const img = render({ ...a, kind: "square", colour: "white", position: "center" });
  const f = embedImage(img);
  assert.equal(f.length, EMBED_DIM);
  assert.equal(f[0], 0); // top-left cell: black background
  const centre = (4 * 8 + 4) * 3; // cell (4, 4): pixels 16..19, inside the square 12..20
  assert.ok(Math.abs(f[centre]! - 245 / 255) < 1e-6);
  const refs = CONCEPTS["cool-squares"].referenceImages(0, 16).map((r) => embedImage(r.image));
  assert.equal(densityCoverage(refs, refs, 5).coverage, 1);
  const other = CONCEPTS["small-white-anything"].referenceImages(0, 16).map((r) =>
    embedImage(r.image)
  );
  const cross = densityCoverage(refs, other, 5);
  assert.ok(cross.coverage < 0.5 && cross.density < 0.5, JSON.stringify(cross));
  const scenes = CONCEPTS["cool-squares"].referenceImages(0, 16).map((r) => analyse(r.image).scene);
  assert.equal(fidelity(scenes, CONCEPTS["cool-squares"]), 1);
});
