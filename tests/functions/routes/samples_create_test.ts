import assert from "node:assert/strict";
import { decodeImage } from "../../../core/images/decode.ts";
import { fakeDistribution, makeApp, postJson } from "../_helpers.ts";

const MODEL = "tiny-sd2-fixture";

Deno.test("POST /v1/samples answers a PNG, base64 JSON or stored images", async () => {
  const { app, store, close } = await makeApp();
  try {
    await fakeDistribution(store, "dd_a", MODEL);
    await fakeDistribution(store, "dd_b", MODEL);

    const png = await app.request(
      "/v1/samples",
      postJson({ distribution: "dd_a", steps: 2, seed: 7 }, { Accept: "image/png" }),
    );
    assert.equal(png.status, 200);
    assert.equal(png.headers.get("Content-Type"), "image/png");
    assert.equal(png.headers.get("X-Seed"), "7");
    const img = await decodeImage(new Uint8Array(await png.arrayBuffer()));
    assert.deepEqual([img.width, img.height], [32, 32]);

    const json = await app.request(
      "/v1/samples",
      postJson({ distribution: "dd_a", steps: 2, n: 2, seed: 7 }, {
        Accept: "image/png, application/json;q=0.5",
      }),
    );
    const body = await json.json();
    assert.equal(body.seed, 7);
    assert.equal(body.images.length, 2);
    assert.match(body.images[0].png_base64, /^iVBORw0KGgo/);

    const mix = await app.request(
      "/v1/samples",
      postJson({
        mix: [{ id: "dd_a", weight: 3 }, { id: "dd_b", weight: 1 }],
        steps: 2,
        gamma: 0.5,
        template: "a photo of {} on a table",
        negative_prompt: "blurry",
        scheduler: "euler_ancestral",
      }),
    );
    assert.equal(mix.status, 200, await mix.clone().text());
    assert.equal((await mix.json()).images.length, 1);

    const stored = await app.request(
      "/v1/samples",
      postJson({ distribution: "dd_b", steps: 2, n: 2, output: "store" }),
    );
    const s = await stored.json();
    assert.match(s.id, /^smp_/);
    assert.deepEqual(s.images.map((i: { key: string }) => i.key), [
      `samples/${s.id}/0.png`,
      `samples/${s.id}/1.png`,
    ]);
    // a folder store: store-relative keys only, never the server's path
    assert.equal(s.images[0].url, undefined);
    assert.ok(!JSON.stringify(s).includes(store.root), "the store's path leaked");
    assert.ok(await store.exists(s.images[1].key));
  } finally {
    await close();
  }
});

Deno.test("POST /v1/samples checks its limits and inputs before any work", async () => {
  const { app, store, close } = await makeApp({ DD_MAX_N: "4", DD_MAX_STEPS: "10" });
  try {
    await fakeDistribution(store, "dd_a", MODEL);
    await fakeDistribution(store, "dd_other", "another-model");
    const cases: [unknown, number, string][] = [
      [{ distribution: "dd_a", n: 5 }, 400, "validation_error"],
      [{ distribution: "dd_a", steps: 11 }, 400, "validation_error"],
      [{ distribution: "dd_a", mix: [{ id: "dd_a", weight: 1 }] }, 400, "validation_error"],
      [{}, 400, "validation_error"],
      [{ distribution: "dd_a", template: "no placeholder" }, 400, "validation_error"],
      [{ distribution: "dd_a", scheduler: "pndm" }, 400, "validation_error"],
      [{ distribution: "dd_a", sampler: "gaussian" }, 400, "validation_error"],
      [{ distribution: "dd_a", guidance_rescale: 1.5 }, 400, "validation_error"],
      [{ distribution: "dd_a", guidance_rescale: -0.1 }, 400, "validation_error"],
      [{ distribution: "dd_a", extra: 1 }, 400, "validation_error"],
      [{ distribution: "../x" }, 400, "validation_error"],
      [{ distribution: "dd_missing", steps: 1 }, 404, "not_found"],
      [
        { mix: [{ id: "dd_a", weight: 1 }, { id: "dd_other", weight: 1 }], steps: 1 },
        422,
        "model_mismatch",
      ],
    ];
    for (const [body, status, code] of cases) {
      const res = await app.request("/v1/samples", postJson(body));
      assert.equal(res.status, status, JSON.stringify(body));
      assert.equal((await res.json()).error.code, code, JSON.stringify(body));
    }
  } finally {
    await close();
  }
});

Deno.test("POST /v1/samples answers 406 for Accept: image/png with n > 1 or output=store", async () => {
  const { app, store, close } = await makeApp();
  try {
    await fakeDistribution(store, "dd_a", MODEL);
    const before = await store.list("");
    for (
      const [extra, re] of [[{ n: 2 }, /n = 2 asks for 2 images/], [
        { output: "store" },
        /output/,
      ]] as const
    ) {
      const res = await app.request(
        "/v1/samples",
        postJson({ distribution: "dd_a", steps: 2, ...extra }, { Accept: "image/png" }),
      );
      assert.equal(res.status, 406);
      const { error } = await res.json();
      assert.equal(error.code, "not_acceptable");
      assert.match(error.message, /Accept: image\/png answers a single PNG/);
      assert.match(error.message, re);
    }
    assert.deepEqual(await store.list(""), before, "nothing was generated or stored");
  } finally {
    await close();
  }
});
