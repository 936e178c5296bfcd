import assert from "node:assert/strict";
import { Rng } from "../../../core/random.ts";
import {
  ATTR_NAMES,
  ATTRIBUTES,
  BACKGROUND_RGB,
  enumerateScenes,
  OBJECT_RGB,
  objectCentres,
  sampleScene,
  satisfies,
  sceneKey,
} from "../../../core/world/scene.ts";

const dist = (a: readonly number[], b: readonly number[]) =>
  Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!, a[2]! - b[2]!);

Deno.test("enumerateScenes() lists the 1680 distinct scenes, or a constrained subset", () => {
  const all = enumerateScenes();
  assert.equal(all.length, 3 * 7 * 2 * 2 * 5 * 4);
  assert.equal(new Set(all.map(sceneKey)).size, all.length);
  const some = enumerateScenes({ kind: ["square"], background: ["gray", "black"] });
  assert.equal(some.length, 7 * 2 * 2 * 5 * 2);
  assert.ok(some.every((s) => s.kind === "square" && ["gray", "black"].includes(s.background)));
});

Deno.test("sampleScene() is deterministic per stream, obeys constraints and is roughly uniform", () => {
  assert.deepEqual(sampleScene(new Rng(3)), sampleScene(new Rng(3)));
  const rng = new Rng(11);
  const counts = new Map<string, number>();
  const n = 7000;
  for (let i = 0; i < n; i++) {
    const s = sampleScene(rng);
    for (const a of ATTR_NAMES) counts.set(`${a}=${s[a]}`, (counts.get(`${a}=${s[a]}`) ?? 0) + 1);
  }
  for (const a of ATTR_NAMES) {
    for (const v of ATTRIBUTES[a]) {
      const share = (counts.get(`${a}=${v}`) ?? 0) / n;
      assert.ok(Math.abs(share - 1 / ATTRIBUTES[a].length) < 0.03, `${a}=${v}: ${share}`);
    }
  }
  const c = { colour: ["red", "white"], position: ["left"] } as const;
  for (let i = 0; i < 200; i++) assert.ok(satisfies(sampleScene(rng, c), c));
});

Deno.test("constraints with unknown or no values are refused", () => {
  assert.throws(() => sampleScene(new Rng(0), { colour: [] }), RangeError);
  // @ts-expect-error: not a colour of the world
  assert.throws(() => sampleScene(new Rng(0), { colour: ["red", "teal"] }), RangeError);
});

Deno.test("palettes are well separated: objects from each other and from every background", () => {
  const objs = Object.values(OBJECT_RGB), bgs = Object.values(BACKGROUND_RGB);
  for (let i = 0; i < objs.length; i++) {
    for (let j = i + 1; j < objs.length; j++) assert.ok(dist(objs[i]!, objs[j]!) >= 80);
    for (const b of bgs) assert.ok(dist(objs[i]!, b) >= 110);
  }
});

Deno.test("objectCentres() puts pairs side by side across the region centre", () => {
  const base = enumerateScenes({ count: ["two"], size: ["large"] });
  for (const s of base) {
    const [a, b] = objectCentres(s);
    const vertical = s.position === "left" || s.position === "right";
    assert.equal(vertical ? a![0] : a![1], vertical ? b![0] : b![1]);
    assert.equal(Math.abs(vertical ? a![1] - b![1] : a![0] - b![0]), 16);
  }
});
