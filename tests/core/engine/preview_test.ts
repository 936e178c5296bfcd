/**
 * Training previews through the Engine on the tiny fixture model: a grid every N steps, drawn
 * from the distribution learned so far; the final preview renders the saved distribution.
 */
import assert from "node:assert/strict";
import { Engine } from "../../../core/engine/engine.ts";
import type { Preview } from "../../../core/engine/preview.ts";
import { encodePng } from "../../../core/images/encode.ts";
import { FsStore } from "../../../core/store/fs_store.ts";
import { discImages, SD2_DIR } from "../../helpers/tiny_model.ts";

const OPTIONS = { K: 3, M: 2, S: 2, batchSize: 2, steps: 4, seed: 1 };
const images = discImages(4).map((img, i) => ({ bytes: encodePng(img), name: `ref${i}.png` }));

Deno.test("Engine.train() draws a preview grid every N steps from the current distribution", async () => {
  const dir = await Deno.makeTempDir();
  const engine = new Engine({
    store: new FsStore(dir),
    resolveModel: () => Promise.resolve({ dir: SD2_DIR, revision: "fixture" }),
    defaultModel: "tiny-sd2-fixture",
    cacheDir: null,
  });
  try {
    const previews: Preview[] = [];
    const m = await engine.train({ images, options: OPTIONS }, {
      preview: { every: 2, n: 4, sampleSteps: 2, onPreview: (p) => void previews.push(p) },
    });
    assert.deepEqual(previews.map((p) => [p.step, p.steps]), [[2, 4], [4, 4]]);
    // 4 tiles of 32x32 in a 2x2 grid, 2 px padding.
    for (const p of previews) assert.deepEqual([p.image.width, p.image.height], [70, 70]);
    assert.notDeepEqual(previews[0]!.image.data, previews[1]!.image.data, "training moved it");
    // The last preview is the saved distribution, sampled the same way.
    const again = await engine.sample({
      distributions: [{ id: m.id, weight: 1 }],
      gamma: 1,
      n: 4,
      seed: 0,
      steps: 2,
    });
    const tile = (img: { width: number; data: Uint8Array }, x0: number, y0: number) => {
      const out: number[] = [];
      for (let y = 0; y < 32; y++) {
        for (let x = 0; x < 32 * 3; x++) {
          out.push(img.data[((y0 + y) * img.width) * 3 + x0 * 3 + x]!);
        }
      }
      return out;
    };
    assert.deepEqual(tile(previews[1]!.image, 2, 2), Array.from(again[0]!.data));
  } finally {
    await engine.close();
    await Deno.remove(dir, { recursive: true });
  }
});
