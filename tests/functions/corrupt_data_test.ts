/**
 * Fault class 6: corrupt or absurd data. A malformed manifest does not fail a listing; an
 * artifact holding NaN or 3e38 is refused at load although its sha256 matches; absurd numeric
 * options are a 400 before any work; a diverging optimiser step is a typed error.
 */
import assert from "node:assert/strict";
import { loadDistribution } from "../../core/artifacts/distribution_artifact.ts";
import { readSafetensors, writeSafetensors } from "../../core/artifacts/safetensors_write.ts";
import { sha256Hex } from "../../core/images/hash.ts";
import { AdamW, NonFiniteGradientError } from "../../core/optim/adamw.ts";
import { StoreError } from "../../core/store/store.ts";
import { join } from "node:path";
import { Engine } from "../../core/engine/engine.ts";
import { FsStore } from "../../core/store/fs_store.ts";
import { createApp, resolveDeps } from "../../functions/app.ts";
import { SD2_DIR } from "../helpers/tiny_model.ts";
import {
  b64,
  fakeDistribution,
  makeApp,
  pngs,
  postJson,
  silent,
  testConfig,
  TINY,
} from "./_helpers.ts";

const MODEL = "tiny-sd2-fixture";

/** Rewrites a stored distribution's sigma[0] to `v`, fixing the manifest's sha256 and size. */
async function poison(store: FsStore, id: string, v: number): Promise<void> {
  const key = `distributions/${id}/prompts.safetensors`;
  const { tensors } = readSafetensors((await store.get(key))!);
  const sigma = tensors.get("sigma")!;
  sigma.data[0] = v;
  const bytes = writeSafetensors(Object.fromEntries(tensors));
  await store.put(key, bytes);
  const mKey = `distributions/${id}/manifest.json`;
  const manifest = JSON.parse(new TextDecoder().decode((await store.get(mKey))!));
  manifest.files["prompts.safetensors"] = { sha256: await sha256Hex(bytes), size: bytes.length };
  await store.put(mKey, new TextEncoder().encode(JSON.stringify(manifest)));
}

Deno.test("GET /v1/distributions lists the rest and reports a corrupt manifest", async () => {
  const { app, store, close } = await makeApp();
  try {
    for (const id of ["dd_a", "dd_b", "dd_c", "dd_d"]) await fakeDistribution(store, id, MODEL);
    await store.put("distributions/dd_b/manifest.json", new TextEncoder().encode("{not json"));
    await store.put("distributions/dd_c/manifest.json", new TextEncoder().encode('{"id":1}'));
    const res = await app.request("/v1/distributions?limit=10");
    assert.equal(res.status, 200);
    const page = await res.json();
    assert.deepEqual(page.items.map((m: { id: string }) => m.id), ["dd_a", "dd_d"]);
    assert.deepEqual(page.corrupt.map((c: { id: string }) => c.id), ["dd_b", "dd_c"]);
    assert.match(page.corrupt[0].message, /not valid JSON/);
    assert.equal((await app.request("/v1/distributions/dd_b")).status, 422);
  } finally {
    await close();
  }
});

Deno.test("a distribution with NaN, Infinity or 3e38 is refused at load although sha256 matches", async () => {
  const { app, store, close } = await makeApp();
  try {
    for (const [i, v] of [NaN, Infinity, 3e38, -2e6].entries()) {
      const id = `dd_bad${i}`;
      await fakeDistribution(store, id, MODEL);
      await poison(store, id, v);
      await assert.rejects(
        loadDistribution(store, id),
        (e) => e instanceof StoreError && e.code === "corrupt" && /sigma\[0\]/.test(e.message),
      );
      const res = await app.request("/v1/samples", postJson({ distribution: id, steps: 1 }));
      assert.equal(res.status, 422, String(v));
      const body = await res.json();
      assert.equal(body.error.code, "corrupt");
      assert.match(body.error.message, /sigma\[0\]/);
      const emb = await app.request("/v1/embeddings", postJson({ distribution: id, n: 1 }));
      assert.equal(emb.status, 422);
      assert.equal((await app.request(`/v1/distributions/${id}`)).status, 422);
    }
  } finally {
    await close();
  }
});

Deno.test("POST /v1/distributions refuses absurd numeric and oversized string options", async () => {
  const { app, store, close } = await makeApp();
  try {
    const images = [{ base64: b64(pngs(1)[0]!) }, { base64: b64(pngs(2)[1]!) }];
    const bad: Record<string, unknown>[] = [
      { lambda: 1e39 },
      { lambda: 1e38 },
      { initStd: 1e39 },
      { initStd: 1e38 },
      { maxGradNorm: 1e30 },
      { minSnrGamma: 1e30 },
      { seed: 2 ** 40 },
      { checkpointEvery: 1e12 },
      { lr: Infinity },
      { initWords: "word ".repeat(5_000_000 / 5) },
      { template: "{} " + "x".repeat(10_000) },
    ];
    for (const options of bad) {
      const res = await app.request("/v1/distributions", postJson({ images, options }));
      const body = await res.json();
      assert.equal(
        res.status,
        400,
        `${Object.keys(options)}: ${JSON.stringify(body).slice(0, 200)}`,
      );
    }
    assert.deepEqual(await store.list("distributions/"), []);
  } finally {
    await close();
  }
});

Deno.test("AdamW.step() refuses a non-finite gradient with a typed error and leaves params", () => {
  const opt = new AdamW(2);
  const params = Float32Array.of(1, 2);
  assert.throws(() => opt.step(params, [NaN, 0]), NonFiniteGradientError);
  assert.throws(() => opt.step(params, [Infinity, 0]), NonFiniteGradientError);
  assert.deepEqual([...params], [1, 2]);
});

/** A copy of the tiny fixture model whose UNet output bias is NaN: every loss is NaN. */
async function nanModel(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "dd-nan-model-" });
  const src = SD2_DIR;
  for (const sub of ["unet", "text_encoder", "vae", "tokenizer", "scheduler"]) {
    await Deno.mkdir(join(dir, sub), { recursive: true });
    for await (const e of Deno.readDir(join(src, sub))) {
      if (e.isFile) await Deno.copyFile(join(src, sub, e.name), join(dir, sub, e.name));
    }
  }
  for await (const e of Deno.readDir(src)) {
    if (e.isFile) await Deno.copyFile(join(src, e.name), join(dir, e.name));
  }
  const path = join(dir, "unet", "diffusion_pytorch_model.safetensors");
  const bytes = await Deno.readFile(path);
  const view = new DataView(bytes.buffer);
  const headerLen = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen)));
  const [start] = header["conv_out.bias"].data_offsets;
  view.setFloat32(8 + headerLen + start, NaN, true);
  await Deno.writeFile(path, bytes);
  return dir;
}

Deno.test("a training that goes non-finite is a 400 invalid_options and saves nothing", async () => {
  const dir = await nanModel();
  const store = new FsStore(await Deno.makeTempDir({ prefix: "dd-nan-store-" }));
  const engine = new Engine({
    store,
    resolveModel: () => Promise.resolve({ dir, revision: "nan" }),
    defaultModel: MODEL,
    cacheDir: null,
  });
  const deps = resolveDeps({ engine, config: testConfig(), log: silent });
  const app = createApp(deps);
  try {
    const images = [{ base64: b64(pngs(1)[0]!) }, { base64: b64(pngs(2)[1]!) }];
    const res = await app.request("/v1/distributions", postJson({ images, options: TINY }));
    const body = await res.json();
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.equal(body.error.code, "invalid_options");
    assert.match(body.error.message, /training diverged at step 1: the loss is NaN/);
    assert.deepEqual(await store.list("distributions/"), []);
  } finally {
    await deps.jobs.idle();
    await engine.close();
    await Deno.remove(store.root, { recursive: true });
    await Deno.remove(dir, { recursive: true });
  }
});
