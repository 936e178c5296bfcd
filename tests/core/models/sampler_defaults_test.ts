import assert from "node:assert/strict";
import { join } from "node:path";
import { FALLBACK_GUIDANCE, readSamplerDefaults } from "../../../core/models/sampler_defaults.ts";

Deno.test("readSamplerDefaults: the checkpoint's guidance, 7.5 without one, errors when malformed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.equal((await readSamplerDefaults(dir)).guidance, FALLBACK_GUIDANCE);
    const write = (x: unknown) =>
      Deno.writeTextFile(join(dir, "model_index.json"), JSON.stringify(x));
    await write({ _class_name: "StableDiffusionPipeline" });
    assert.equal((await readSamplerDefaults(dir)).guidance, 7.5);
    await write({ _dd_sampler_defaults: { guidance_scale: 2 } });
    assert.equal((await readSamplerDefaults(dir)).guidance, 2);
    for (const bad of [-1, "2", null]) {
      await write({ _dd_sampler_defaults: { guidance_scale: bad } });
      await assert.rejects(readSamplerDefaults(dir), /guidance_scale must be a number >= 0/);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readSamplerDefaults: guidance_rescale and scheduler, checked", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const write = (x: unknown) =>
      Deno.writeTextFile(join(dir, "model_index.json"), JSON.stringify(x));
    await write({ _dd_sampler_defaults: { guidance_scale: 3 } });
    assert.deepEqual(await readSamplerDefaults(dir), { guidance: 3, guidanceRescale: 0 });
    await write({
      _dd_sampler_defaults: {
        guidance_scale: 3,
        guidance_rescale: 0.7,
        scheduler: "euler_ancestral",
      },
    });
    assert.deepEqual(await readSamplerDefaults(dir), {
      guidance: 3,
      guidanceRescale: 0.7,
      scheduler: "euler_ancestral",
    });
    for (const bad of [-0.1, 1.5, "0.7"]) {
      await write({ _dd_sampler_defaults: { guidance_scale: 3, guidance_rescale: bad } });
      await assert.rejects(
        readSamplerDefaults(dir),
        /guidance_rescale must be a number in \[0, 1\]/,
      );
    }
    await write({ _dd_sampler_defaults: { guidance_scale: 3, scheduler: 5 } });
    await assert.rejects(readSamplerDefaults(dir), /scheduler must be a string/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
