import assert from "node:assert/strict";
import { analyse } from "../../../core/world/analyse.ts";
import { caption } from "../../../core/world/caption.ts";
import { CONCEPT_NAMES, CONCEPTS, defineConcept } from "../../../core/world/concepts.ts";
import { enumerateScenes, satisfies } from "../../../core/world/scene.ts";

const SUPPORT_SIZES = {
  "warm-shapes-dark": 48,
  "cool-squares": 60,
  "pairs-bottom": 168,
  "small-white-anything": 30,
  "large-circles-sides": 28,
};

Deno.test("there are at least 4 concepts, each with the documented support", () => {
  assert.ok(CONCEPT_NAMES.length >= 4);
  assert.deepEqual([...CONCEPT_NAMES], Object.keys(CONCEPTS));
  for (const name of CONCEPT_NAMES) {
    const c = CONCEPTS[name];
    assert.equal(c.name, name);
    assert.ok(c.description.length > 20);
    const support = c.supportScenes();
    assert.equal(support.length, SUPPORT_SIZES[name], name);
    const inside = enumerateScenes().filter((s) => c.support(s));
    assert.deepEqual(inside, support);
    assert.equal(c.support(null), false);
  }
});

Deno.test("reference scenes lie in the support, are deterministic, and need several captions", () => {
  for (const name of CONCEPT_NAMES) {
    const c = CONCEPTS[name];
    const refs = c.referenceScenes(0, 16);
    assert.equal(refs.length, 16);
    assert.deepEqual(refs, c.referenceScenes(0, 16));
    assert.notDeepEqual(refs, c.referenceScenes(1, 16));
    assert.ok(refs.every((s) => c.support(s) && satisfies(s, c.constraints)), name);
    const caps = c.captions(0, 16);
    assert.deepEqual(caps, [...new Set(refs.map(caption))]);
    assert.ok(caps.length > 1, `${name}: one caption names every reference`);
    assert.ok(new Set(refs.map((s) => s.kind + s.colour + s.position + s.background)).size > 1);
  }
});

Deno.test("reference images render deterministically and analyse back to their scenes", () => {
  for (const name of CONCEPT_NAMES) {
    const imgs = CONCEPTS[name].referenceImages(7, 12);
    const again = CONCEPTS[name].referenceImages(7, 12);
    imgs.forEach(({ scene, image }, i) => {
      assert.deepEqual(image.data, again[i]!.image.data);
      assert.deepEqual(analyse(image).scene, scene);
    });
  }
});

Deno.test("defineConcept() refuses unknown values", () => {
  // @ts-expect-error: not a kind of the world
  assert.throws(() => defineConcept("x", "y", { kind: ["hexagon"] }), RangeError);
});
