import assert from "node:assert/strict";
import { caption, parseCaption, shortCaption, WORLD_WORDS } from "../../../core/world/caption.ts";
import { enumerateScenes, sceneKey } from "../../../core/world/scene.ts";

Deno.test("caption() writes the documented sentences", () => {
  assert.equal(
    caption({
      kind: "circle",
      colour: "red",
      size: "small",
      count: "two",
      position: "top",
      background: "dark blue",
    }),
    "two small red circles at the top on a dark blue background",
  );
  assert.equal(
    caption({
      kind: "square",
      colour: "green",
      size: "large",
      count: "one",
      position: "center",
      background: "black",
    }),
    "a large green square in the center on a black background",
  );
  assert.equal(shortCaption({ kind: "circle", colour: "red" }), "a red circle");
  assert.equal(shortCaption({ kind: "triangle", colour: "orange" }), "an orange triangle");
});

Deno.test("every caption uses only WORLD_WORDS, names one scene and parses back", () => {
  const words = new Set(WORLD_WORDS);
  const used = new Set<string>();
  const seen = new Map<string, string>();
  for (const s of enumerateScenes()) {
    const text = caption(s);
    for (const w of [...text.split(" "), ...shortCaption(s).split(" ")]) {
      assert.ok(words.has(w), `"${w}" in "${text}"`);
      used.add(w);
    }
    assert.equal(seen.get(text), undefined, `two scenes share "${text}"`);
    seen.set(text, sceneKey(s));
    assert.deepEqual(parseCaption(text), s);
  }
  assert.deepEqual([...used].sort(), [...WORLD_WORDS], "no unused word in WORLD_WORDS");
  assert.equal(WORLD_WORDS.length, 31);
});

Deno.test("parseCaption() refuses text outside the world", () => {
  for (
    const t of [
      "a cat",
      "two small red circle at the top on a black background",
      "a small red circles at the top on a black background",
      "a small teal circle at the top on a black background",
      "a small red circle at the top on a white background",
    ]
  ) assert.equal(parseCaption(t), null, t);
});
