/** Protocol v2's metrics on hand-made inputs (exact values) and the concepts-file parser. */
import assert from "node:assert/strict";
import {
  CONCEPTS,
  onConceptDiversity,
  pairedBootstrap,
  parseConceptsFile,
  type Scene,
  supportCoverage,
} from "../../../core/world/mod.ts";

const a: Scene = {
  kind: "circle",
  colour: "red",
  size: "small",
  count: "one",
  position: "top",
  background: "black",
};

Deno.test("onConceptDiversity and supportCoverage count distinct in-support combinations only", () => {
  const warm = CONCEPTS["warm-shapes-dark"]; // 48 combinations
  const b: Scene = { ...a, colour: "orange" };
  const off: Scene = { ...a, colour: "blue" }; // outside the support
  const misread = null;
  const got = [a, a, b, off, off, misread, { ...a, count: "two" } as Scene];
  assert.equal(onConceptDiversity(got, warm), 3);
  assert.equal(supportCoverage(got, warm), 3 / 48);
  assert.equal(onConceptDiversity([off, misread], warm), 0);
  assert.equal(supportCoverage(warm.supportScenes(), warm), 1);
});

Deno.test("pairedBootstrap: exact mean, constant differences give a point interval, order", () => {
  const r = pairedBootstrap([0.2, -0.1, 0.05, 0.15], 2000, 3);
  assert.ok(Math.abs(r.mean - 0.075) < 1e-15);
  assert.ok(r.ci95[0] <= r.mean && r.mean <= r.ci95[1]);
  assert.ok(r.ci95[0] >= -0.1 && r.ci95[1] <= 0.2, "inside the range of the data");
  assert.deepEqual(pairedBootstrap([0.25, 0.25]).ci95, [0.25, 0.25]);
  assert.deepEqual(pairedBootstrap([1, 2, 3], 500, 7), pairedBootstrap([1, 2, 3], 500, 7));
  assert.throws(() => pairedBootstrap([]), /no differences/);
});

Deno.test("parseConceptsFile: valid concepts, and a clear error for each bad input", () => {
  const [c] = parseConceptsFile(
    JSON.stringify([{
      name: "blue-pairs",
      description: "two blue things",
      constraints: { colour: ["blue"], count: ["two"] },
    }]),
  );
  assert.equal(c!.name, "blue-pairs");
  assert.equal(c!.supportScenes().length, 1680 / 7 / 2);
  const bad: [unknown, RegExp][] = [
    ["{", /not JSON/],
    [{}, /non-empty JSON array/],
    [[], /non-empty JSON array/],
    [[1], /entry 0: expected an object/],
    [[{ description: "x", constraints: {} }], /"name" must be/],
    [[{ name: "Bad Name", constraints: {} }], /"name" must be/],
    [[{ name: "x", constraints: { hue: ["red"] } }], /unknown attribute "hue"/],
    [[{ name: "x", constraints: { colour: ["teal"] } }], /unknown colour "teal"/],
    [[{ name: "x", constraints: { colour: [] } }], /non-empty array/],
    [[{ name: "x", constraints: { colour: "red" } }], /non-empty array/],
    [[{ name: "x", constraints: [] }], /"constraints" must be an object/],
    [[{ name: "x", description: 3, constraints: {} }], /"description" must be a string/],
    [[{ name: "x", constraints: {} }, { name: "x", constraints: {} }], /duplicate name x/],
  ];
  for (const [input, re] of bad) {
    const text = typeof input === "string" ? input : JSON.stringify(input);
    assert.throws(() => parseConceptsFile(text), re, text);
  }
});
