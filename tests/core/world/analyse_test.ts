import assert from "node:assert/strict";
import { Rng } from "../../../core/random.ts";
import { analyse } from "../../../core/world/analyse.ts";
import { degrade, render } from "../../../core/world/render.ts";
import {
  type Attr,
  ATTR_NAMES,
  BACKGROUND_RGB,
  OBJECT_RGB,
  sampleScene,
  type Scene,
} from "../../../core/world/scene.ts";

/** Per-attribute accuracy (%) of the analyser on `n` random scenes, degraded when asked. */
function accuracy(n: number, seed: number, noise: number, blur: number) {
  const rng = new Rng(seed);
  const hits = Object.fromEntries(ATTR_NAMES.map((a) => [a, 0])) as Record<Attr, number>;
  let exact = 0;
  for (let i = 0; i < n; i++) {
    const s = sampleScene(rng.fork(i));
    const clean = render(s, seed * 100_000 + i);
    const img = noise > 0 || blur > 0 ? degrade(clean, seed * 100_000 + i, { noise, blur }) : clean;
    const a = analyse(img);
    for (const k of ATTR_NAMES) hits[k] += a.attributes[k] === s[k] ? 1 : 0;
    if (a.scene !== null && ATTR_NAMES.every((k) => a.scene![k] === s[k])) exact++;
  }
  const pct = (v: number) => Math.round(1000 * v / n) / 10;
  return { ...Object.fromEntries(ATTR_NAMES.map((a) => [a, pct(hits[a])])), scene: pct(exact) } as
    & Record<Attr, number>
    & { scene: number };
}

Deno.test("analyse() is exact on 2000 random clean renders (jittered layouts)", () => {
  const acc = accuracy(2000, 1, 0, 0);
  console.log("clean", JSON.stringify(acc));
  assert.deepEqual(
    acc,
    { kind: 100, colour: 100, size: 100, count: 100, position: 100, background: 100, scene: 100 },
  );
});

Deno.test("analyse() is robust to blur 0.7 px and Gaussian noise sigma 20 (and reports 40)", () => {
  const acc = accuracy(500, 2, 20, 0.7);
  console.log("blur 0.7 + noise 20", JSON.stringify(acc));
  assert.ok(acc.kind >= 95 && acc.colour >= 95, JSON.stringify(acc));
  assert.ok(ATTR_NAMES.every((a) => acc[a] >= 90), JSON.stringify(acc));
  const harsh = accuracy(300, 3, 40, 1);
  console.log("blur 1.0 + noise 40", JSON.stringify(harsh));
  assert.ok(harsh.kind >= 90 && harsh.colour >= 90, JSON.stringify(harsh));
});

function canvas(bg: readonly number[]): { width: number; height: number; data: Uint8Array } {
  const data = new Uint8Array(32 * 32 * 3);
  for (let i = 0; i < 32 * 32; i++) data.set(bg, i * 3);
  return { width: 32, height: 32, data };
}

function fill(
  img: { data: Uint8Array },
  x0: number,
  y0: number,
  side: number,
  rgb: readonly number[],
) {
  for (let y = y0; y < y0 + side; y++) {
    for (let x = x0; x < x0 + side; x++) img.data.set(rgb, (y * 32 + x) * 3);
  }
}

Deno.test("analyse() returns no scene, with a reason, for images outside the world", () => {
  const empty = analyse(canvas(BACKGROUND_RGB.gray));
  assert.equal(empty.scene, null);
  assert.equal(empty.attributes.background, "gray");
  assert.match(empty.reason ?? "", /no object/);

  const three = canvas(BACKGROUND_RGB.black);
  for (const x of [2, 12, 22]) fill(three, x, 12, 7, OBJECT_RGB.red);
  const a3 = analyse(three);
  assert.equal(a3.scene, null);
  assert.equal(a3.objects.length, 3);
  assert.equal(a3.attributes.colour, "red");
  assert.match(a3.reason ?? "", /3 objects/);

  const mixed = canvas(BACKGROUND_RGB["dark blue"]);
  fill(mixed, 4, 12, 9, OBJECT_RGB.red);
  fill(mixed, 19, 12, 9, OBJECT_RGB.yellow);
  const am = analyse(mixed);
  assert.equal(am.scene, null);
  assert.deepEqual([am.attributes.kind, am.attributes.colour, am.attributes.count], [
    "square",
    undefined,
    "two",
  ]);
  assert.match(am.reason ?? "", /differ in colour/);

  const speck = canvas(BACKGROUND_RGB.black);
  fill(speck, 12, 12, 9, OBJECT_RGB.white);
  fill(speck, 2, 2, 2, OBJECT_RGB.white); // 4 px: a speck, not an object
  const as = analyse(speck);
  assert.equal(as.objects.length, 1);
  assert.deepEqual(
    as.scene,
    {
      kind: "square",
      colour: "white",
      size: "small",
      count: "one",
      position: "center",
      background: "black",
    } satisfies Scene,
  );
  assert.ok(as.confidence.overall > 0.9);
});

Deno.test("analyse() refuses images that are not 32x32 RGB", () => {
  assert.throws(
    () => analyse({ width: 16, height: 16, data: new Uint8Array(16 * 16 * 3) }),
    RangeError,
  );
});
