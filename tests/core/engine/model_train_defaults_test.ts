/**
 * Training options a request leaves out come from the model's `_dd_train_defaults`, then from
 * the paper, through the engine (so the HTTP API and the tasks agree); a request's own options
 * win. The model is a copy of the tiny SD2 fixture (weights linked, not copied) whose
 * model_index.json names defaults.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Engine } from "../../../core/engine/engine.ts";
import { encodePng } from "../../../core/images/encode.ts";
import { FsStore } from "../../../core/store/fs_store.ts";
import { discImages, SD2_DIR } from "../../helpers/tiny_model.ts";

async function linkTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await linkTree(join(from, e.name), join(to, e.name));
    else await Deno.symlink(join(from, e.name), join(to, e.name));
  }
}

Deno.test("engine.train: absent options come from the model's _dd_train_defaults, given ones win", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const dir = join(tmp, "model");
    await linkTree(SD2_DIR, dir);
    const index = JSON.parse(await Deno.readTextFile(join(SD2_DIR, "model_index.json")));
    index._dd_train_defaults = { options: { K: 3, M: 2, S: 1, batch_size: 1, steps: 2 } };
    await Deno.remove(join(dir, "model_index.json"));
    await Deno.writeTextFile(join(dir, "model_index.json"), JSON.stringify(index));
    const engine = new Engine({
      store: new FsStore(join(tmp, "store")),
      resolveModel: () => Promise.resolve({ dir, revision: "local" }),
      defaultModel: "with-defaults",
      cacheDir: null,
    });
    try {
      const images = discImages(3).map((img, i) => ({ bytes: encodePng(img), name: `r${i}` }));
      const a = await engine.train({ images, options: {} });
      assert.deepEqual([a.K, a.M, a.lossCurve.length], [3, 2, 2], "the model's defaults");
      const b = await engine.train({ images, options: { K: 2, steps: 1 } });
      assert.deepEqual([b.K, b.M, b.lossCurve.length], [2, 2, 1], "the request's options win");
      // The budget sees the same options as the training.
      const withDefaults = await engine.trainBudgetBytes(undefined, {});
      const paper = await engine.trainBudgetBytes(undefined, { K: 32, M: 4, S: 4, batchSize: 4 });
      assert.ok(withDefaults < paper, `${withDefaults} < ${paper}`);
    } finally {
      await engine.close();
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
