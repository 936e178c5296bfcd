/**
 * The method's behaviour through the Engine on the tiny fixture model: sampling
 * properties (gamma = 0, mixing, template "{}"), errors, and store hygiene.
 */
import assert from "node:assert/strict";
import { readSafetensors } from "../../../core/artifacts/safetensors_write.ts";
import { Engine, EngineError } from "../../../core/engine/engine.ts";
import { encodePng } from "../../../core/images/encode.ts";
import { FsStore } from "../../../core/store/fs_store.ts";
import { discImages, SD2_DIR } from "../../helpers/tiny_model.ts";

const OPTIONS = { K: 3, M: 2, S: 2, batchSize: 2, steps: 3, seed: 1 };
const images = discImages(4).map((img, i) => ({ bytes: encodePng(img), name: `ref${i}.png` }));

async function withEngine(f: (e: Engine, dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  const engine = new Engine({
    store: new FsStore(dir),
    resolveModel: () => Promise.resolve({ dir: SD2_DIR, revision: "fixture" }),
    defaultModel: "tiny-sd2-fixture",
    cacheDir: null,
  });
  try {
    await f(engine, dir);
  } finally {
    await engine.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const features = async (e: Engine, req: Parameters<Engine["embeddings"]>[0]) => {
  const t = readSafetensors(await e.embeddings(req)).tensors;
  return { c: t.get("c_tilde")!.data, u: t.get("uncond")!.data };
};
const base = { n: 3, seed: 5, steps: 2, guidance: 5 };

Deno.test("Engine: gamma 0, mixing (1, 0) and the template {} behave exactly as the maths says", async () => {
  await withEngine(async (e) => {
    const a = await e.train({ images, options: OPTIONS });
    const b = await e.train({ images: images.slice(0, 2), options: { ...OPTIONS, seed: 9 } });
    const { tensors: ta } = await e.get(a.id);
    // gamma = 0: every c~ is mu.
    const zero = await features(e, { ...base, gamma: 0, distributions: [{ id: a.id, weight: 1 }] });
    const size = 77 * 32;
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(zero.c.subarray(i * size, (i + 1) * size), ta.mu.data);
    }
    // gamma = 1: they differ.
    const one = await features(e, { ...base, gamma: 1, distributions: [{ id: a.id, weight: 1 }] });
    assert.notDeepEqual(one.c.subarray(0, size), one.c.subarray(size, 2 * size));
    // Mixing weights (1, 0) reproduce the first distribution exactly.
    const mixed = await features(e, {
      ...base,
      gamma: 1,
      distributions: [{ id: a.id, weight: 1 }, { id: b.id, weight: 0 }],
    });
    assert.deepEqual(mixed.c, one.c);
    // Re-encoding inside "{}" (the training template) reproduces mu and sigma exactly.
    const refit = await features(e, {
      ...base,
      gamma: 1,
      template: "{}",
      distributions: [{ id: a.id, weight: 1 }],
    });
    assert.deepEqual(refit.c, one.c);
    // A text-edited template changes the features.
    const edited = await features(e, {
      ...base,
      gamma: 1,
      template: "a photo of {} on the beach",
      distributions: [{ id: a.id, weight: 1 }],
    });
    assert.notDeepEqual(edited.c, one.c);
    // Sampling images is deterministic per seed.
    const req = { ...base, n: 2, gamma: 1, distributions: [{ id: a.id, weight: 1 }] };
    const [x, y] = [await e.sample(req), await e.sample(req)];
    assert.deepEqual(x[0]!.data, y[0]!.data);
    assert.equal(x.length, 2);
    assert.equal(x[0]!.width, 32);
  });
});

Deno.test("Engine refuses bad requests with EngineError and writes nothing", async () => {
  await withEngine(async (e, dir) => {
    const listing = () => [...Deno.readDirSync(dir)].map((x) => x.name).sort();
    const before = listing();
    const bad: [Parameters<Engine["train"]>[0], string][] = [
      [{ images, options: { K: 1 } }, "invalid_options"],
      [{ images, options: { M: 0 } }, "invalid_options"],
      [{ images, options: { steps: 0 } }, "invalid_options"],
      [{ images, options: { template: "no braces" } }, "invalid_options"],
      [{ images: [], options: {} }, "no_images"],
      [
        { images: [{ bytes: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) }], options: OPTIONS },
        "unsupported_format",
      ],
      [
        { images: [{ bytes: encodePng(discImages(1)[0]!).slice(0, 60) }], options: OPTIONS },
        "invalid_image",
      ],
    ];
    for (const [req, code] of bad) {
      await assert.rejects(e.train(req), (err: unknown) => {
        assert.ok(err instanceof EngineError, String(err));
        assert.equal(err.code, code, err.message);
        return true;
      });
    }
    assert.deepEqual(listing(), before);
    const a = await e.train({ images, options: OPTIONS });
    const s = { ...base, gamma: 1 };
    await assert.rejects(
      e.embeddings({ ...s, distributions: [{ id: a.id, weight: 0.5 }, { id: a.id, weight: 0.6 }] }),
      /sum to 1/,
    );
    await assert.rejects(
      e.embeddings({ ...s, template: "no braces", distributions: [{ id: a.id, weight: 1 }] }),
      /exactly one \{\}/,
    );
    await assert.rejects(e.embeddings({ ...s, distributions: [] }), /no distribution/);
    const invalidRequest = (err: unknown) => {
      assert.ok(err instanceof EngineError, String(err));
      assert.equal(err.code, "invalid_request", err.message);
      return true;
    };
    // More denoising steps than training timesteps is the caller's mistake, not a 500.
    await assert.rejects(
      e.sample({ ...s, distributions: [{ id: a.id, weight: 1 }], n: 1, steps: 5000, guidance: 1 }),
      invalidRequest,
    );
    await assert.rejects(
      e.sample({ ...s, distributions: [{ id: a.id, weight: -1 }], n: 1, steps: 2, guidance: 1 }),
      invalidRequest,
    );
    await assert.rejects(e.get("dd_missing"), /not found|no such|missing/i);
  });
});

Deno.test("Engine refuses a corrupted prompts.safetensors with a clear error", async () => {
  await withEngine(async (e, dir) => {
    const a = await e.train({ images, options: OPTIONS });
    const path = `${dir}/distributions/${a.id}/prompts.safetensors`;
    const bytes = await Deno.readFile(path);
    bytes[bytes.length - 3]! ^= 0xff;
    await Deno.writeFile(path, bytes);
    await assert.rejects(e.get(a.id), /sha256/);
  });
});

Deno.test("Engine: artifacts keep the K prompt features; one saved without them still samples every sampler", async () => {
  await withEngine(async (e, dir) => {
    const a = await e.train({ images, options: OPTIONS });
    const { manifest, tensors } = await e.get(a.id);
    assert.deepEqual(tensors.features?.shape, [3, 77, 32]);
    // The same distribution as an artifact from before features were stored.
    const { saveDistribution } = await import("../../../core/artifacts/distribution_artifact.ts");
    const { format: _f, files: _files, ...input } = manifest;
    await saveDistribution(new FsStore(dir), { ...input, id: "dd_old" }, {
      ctx: tensors.ctx,
      mu: tensors.mu,
      sigma: tensors.sigma,
    });
    assert.equal((await e.get("dd_old")).tensors.features, undefined);
    for (const sampler of ["low_rank", "mixture"] as const) {
      const req = { ...base, gamma: 1, sampler };
      const stored = await features(e, { ...req, distributions: [{ id: a.id, weight: 1 }] });
      const recomputed = await features(e, {
        ...req,
        distributions: [{ id: "dd_old", weight: 1 }],
      });
      let worst = 0;
      stored.c.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - recomputed.c[i]!))));
      assert.ok(worst < 1e-4, `${sampler}: re-encoded features differ by ${worst}`);
    }
    // gamma 0 with the mixture sampler draws exactly the stored prompt features.
    const mix0 = await features(e, {
      ...base,
      gamma: 0,
      sampler: "mixture",
      distributions: [{ id: a.id, weight: 1 }],
    });
    const size = 77 * 32, prompts = tensors.features!.data;
    for (let i = 0; i < 3; i++) {
      const row = mix0.c.subarray(i * size, (i + 1) * size);
      const hit = [0, 1, 2].some((k) =>
        row.every((v, j) => Math.abs(v - prompts[k * size + j]!) < 1e-5)
      );
      assert.ok(hit, `sample ${i} is one of the K prompts`);
    }
  });
});

Deno.test("Engine: a Textual Inversion artifact samples mu with every sampler, plain or templated", async () => {
  await withEngine(async (e) => {
    const ti = await e.train({ images, options: { ...OPTIONS, mode: "textual_inversion" } });
    const { tensors } = await e.get(ti.id);
    for (const sampler of ["diagonal", "low_rank", "mixture"] as const) {
      for (const template of [undefined, "a photo of {}"]) {
        const got = await features(e, {
          ...base,
          gamma: 2,
          sampler,
          ...(template ? { template } : {}),
          distributions: [{ id: ti.id, weight: 1 }],
        });
        const size = 77 * 32;
        const first = got.c.subarray(0, size);
        for (let i = 1; i < 3; i++) {
          assert.deepEqual(
            got.c.subarray(i * size, (i + 1) * size),
            first,
            `${sampler} ${template}`,
          );
        }
        if (!template) assert.deepEqual(first, tensors.mu.data, `${sampler}: mu`);
      }
    }
  });
});
