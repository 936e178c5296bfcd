import assert from "node:assert/strict";
import { b64, makeApp, parseSse, pngs, postJson, TINY } from "../_helpers.ts";

function form(images: Uint8Array[], options: unknown = TINY): FormData {
  const f = new FormData();
  for (const [i, p] of images.entries()) {
    f.append(
      "images",
      new File([p as Uint8Array<ArrayBuffer>], `ref${i}.png`, { type: "image/png" }),
    );
  }
  f.append("options", JSON.stringify(options));
  return f;
}

Deno.test("POST /v1/distributions (JSON, base64) trains once per Idempotency-Key and replays", async () => {
  const { app, store, close } = await makeApp();
  try {
    const body = {
      images: pngs(2).map((p) => ({ base64: b64(p) })),
      options: TINY,
      model: "tiny-sd2-fixture",
    };
    const key = { "Idempotency-Key": "retry-me-1" };
    const first = app.request("/v1/distributions", postJson(body, key));
    // The duplicate must arrive while the first is running: wait for its pending record
    // (a fixed sleep raced the first request on a loaded machine).
    for (let i = 0; (await store.list("idempotency/")).length === 0; i++) {
      assert.ok(i < 2000, "the first request never recorded its key");
      await new Promise((r) => setTimeout(r, 5));
    }
    const concurrent = await app.request("/v1/distributions", postJson(body, key));
    assert.equal(concurrent.status, 409);
    assert.equal((await concurrent.json()).error.code, "idempotency_in_progress");
    const res = await first;
    assert.equal(res.status, 201, await res.clone().text());
    const m = await res.json();
    assert.equal(res.headers.get("Location"), `/v1/distributions/${m.id}`);
    assert.deepEqual([m.k, m.m, m.loss_curve.length], [3, 2, 3]);
    const again = await app.request("/v1/distributions", postJson(body, key));
    assert.equal(again.status, 201);
    assert.equal(again.headers.get("Idempotent-Replayed"), "true");
    assert.equal((await again.json()).id, m.id);
    const other = await app.request(
      "/v1/distributions",
      postJson({ ...body, images: body.images.slice(1) }, key),
    );
    assert.equal(other.status, 422);
    assert.equal((await other.json()).error.code, "idempotency_mismatch");
    assert.equal(
      (await store.list("distributions/")).filter((k) => k.endsWith("manifest.json")).length,
      1,
    );
  } finally {
    await close();
  }
});

Deno.test("POST /v1/distributions streams an error event for a truncated image", async () => {
  const { app, store, close } = await makeApp();
  try {
    const res = await app.request("/v1/distributions", {
      method: "POST",
      body: form([pngs(1)[0]!.subarray(0, 60)]),
      headers: { Accept: "text/event-stream" },
    });
    const events = parseSse(await res.text());
    assert.deepEqual(events.map((e) => e.event), ["error"]);
    assert.equal((events[0]!.data as { error: { code: string } }).error.code, "invalid_image");
    assert.deepEqual(await store.list(""), []);
  } finally {
    await close();
  }
});

Deno.test("POST /v1/distributions refuses bad options, unknown models and unsigned webhooks", async () => {
  const { app, store, close } = await makeApp({ DD_MAX_K: "8" });
  try {
    const images = pngs(1).map((p) => ({ base64: b64(p) }));
    const cases: [unknown, number, string][] = [
      [{ images, options: { k: 9 } }, 400, "validation_error"],
      [{ images, options: { k: "3" } }, 400, "validation_error"],
      [{ images, options: { K: 9 } }, 400, "validation_error"],
      [{ images, options: { K: 3, k: 3 } }, 400, "validation_error"],
      [{ images, options: { nope: 1 } }, 400, "validation_error"],
      [{ images, options: { ...TINY, k: 1 } }, 400, "invalid_options"],
      [{ images, model: "sd-9000" }, 422, "unknown_model"],
      [{ images, webhook: "http://127.0.0.1:9/hook" }, 400, "webhook_not_configured"],
      [{ images: [{ base64: "***" }] }, 400, "validation_error"],
      [{ images: [{ url: "ftp://x/y.png" }] }, 422, "url_not_allowed"],
    ];
    for (const [body, status, code] of cases) {
      const res = await app.request("/v1/distributions", postJson(body));
      assert.equal(res.status, status, JSON.stringify(body).slice(0, 80));
      assert.equal((await res.json()).error.code, code, JSON.stringify(body).slice(0, 80));
    }
    const noBody = await app.request("/v1/distributions", { method: "POST" });
    assert.equal(noBody.status, 415);
    const badForm = await app.request("/v1/distributions", {
      method: "POST",
      body: form(pngs(1), "not json"),
    });
    assert.equal(badForm.status, 400);
    assert.deepEqual(await store.list(""), []);
  } finally {
    await close();
  }
});

Deno.test("POST /v1/distributions takes snake_case options; core's old names work, deprecated", async () => {
  const { app, close } = await makeApp();
  try {
    const images = pngs(2).map((p) => ({ base64: b64(p) }));
    const snake = await app.request(
      "/v1/distributions",
      postJson({ images, options: { ...TINY, steps: 1, weight_decay: 0.5 } }),
    );
    assert.equal(snake.status, 201, await snake.clone().text());
    assert.equal(snake.headers.get("Deprecation"), null);
    const m = await snake.json();
    assert.deepEqual([m.k, m.m, m.options.batch_size, m.options.weight_decay], [3, 2, 2, 0.5]);
    assert.equal(m.options.batchSize, undefined);
    assert.equal(typeof m.created_at, "string");

    const old = await app.request(
      "/v1/distributions",
      postJson({ images, options: { K: 3, M: 2, S: 2, batchSize: 2, steps: 1 } }),
    );
    assert.equal(old.status, 201, await old.clone().text());
    assert.equal(old.headers.get("Deprecation"), "true");
    const o = await old.json();
    assert.deepEqual([o.k, o.m, o.options.batch_size], [3, 2, 2]);
  } finally {
    await close();
  }
});
