import assert from "node:assert/strict";
import { loadModel } from "../../../core/models/load_model.ts";
import { ModelError } from "../../../core/models/model_error.ts";
import { SchedulerKind } from "../../../core/schedulers/scheduler.ts";
import { SD2_DIR } from "../../helpers/tiny_model.ts";

Deno.test("loadModel() loads a folder: sessions, tokenizer, scheduler config, defaults", async () => {
  const m = await loadModel(SD2_DIR, { folders: true });
  try {
    assert.equal(m.revision, "local");
    assert.equal(m.name, SD2_DIR);
    assert.ok(m.runtime.graphs.info.maxLength > 0);
    assert.ok(m.tokenizer.encodePadded("a", m.runtime.graphs.info.maxLength).length > 0);
    assert.ok(m.schedulerConfig.num_train_timesteps > 1);
    assert.equal(m.defaultScheduler, SchedulerKind.DDIM);
    assert.equal(m.defaultGuidance, 7.5);
  } finally {
    await m.runtime.release();
  }
});

Deno.test("loadModel() uses the resolver it is given, and refuses unknown names", async () => {
  const m = await loadModel("fixture", {
    resolve: (name) => Promise.resolve({ dir: SD2_DIR, revision: `rev-of-${name}` }),
  });
  assert.equal(m.revision, "rev-of-fixture");
  await m.runtime.release();
  await assert.rejects(
    loadModel("no-such-model-anywhere"),
    (e: unknown) => e instanceof ModelError && e.code === "not_locked",
  );
});
