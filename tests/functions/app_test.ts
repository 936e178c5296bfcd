import assert from "node:assert/strict";
import { makeApp } from "./_helpers.ts";
import { WorkQueue } from "../../functions/middleware/queue/index.ts";

Deno.test("GET /healthz is always 200; /readyz is 503 until the default model is loaded", async () => {
  const { app, deps, close } = await makeApp();
  try {
    assert.deepEqual(await (await app.request("/healthz")).json(), { status: "ok" });
    const before = await app.request("/readyz");
    assert.equal(before.status, 503);
    assert.equal((await before.json()).error.code, "not_ready");
    await deps.readiness.start();
    assert.equal((await app.request("/readyz")).status, 200);
    deps.readiness.stop();
    assert.equal((await app.request("/readyz")).status, 503);
  } finally {
    await close();
  }
});

Deno.test("GET /v1/models lists the default model", async () => {
  const { app, close } = await makeApp();
  try {
    assert.deepEqual(await (await app.request("/v1/models")).json(), {
      models: [{ name: "tiny-sd2-fixture", default: true }],
    });
  } finally {
    await close();
  }
});

Deno.test("GET /openapi.json describes every route; /docs points at it", async () => {
  const { app, close } = await makeApp();
  try {
    const doc = await (await app.request("/openapi.json")).json();
    assert.deepEqual(Object.keys(doc.paths).sort(), [
      "/healthz",
      "/readyz",
      "/v1/distributions",
      "/v1/distributions/{id}",
      "/v1/distributions/{id}/parameters",
      "/v1/distributions/{id}/textual_inversion",
      "/v1/embeddings",
      "/v1/jobs",
      "/v1/jobs/{id}",
      "/v1/jobs/{id}/cancel",
      "/v1/jobs/{id}/previews",
      "/v1/jobs/{id}/previews/{step}",
      "/v1/models",
      "/v1/models/{name}/browser",
      "/v1/models/{name}/browser/{file}",
      "/v1/samples",
    ]);
    const train = doc.paths["/v1/distributions"].post.requestBody.content;
    assert.deepEqual(Object.keys(train).sort(), ["application/json", "multipart/form-data"]);
    assert.equal(doc.components.schemas.TrainJsonRequest.properties.images.maxItems, 20);
    const docs = await app.request("/docs");
    assert.match(await docs.text(), /\/openapi\.json/);
  } finally {
    await close();
  }
});

Deno.test("unknown paths and methods answer JSON errors with a request id", async () => {
  const { app, close } = await makeApp();
  try {
    const res = await app.request("/v2/nothing");
    assert.equal(res.status, 404);
    assert.equal((await res.json()).error.code, "not_found");
    assert.match(res.headers.get("X-Request-Id") ?? "", /^req_/);
  } finally {
    await close();
  }
});

Deno.test("API keys guard /v1 but not health or docs", async () => {
  const { app, close } = await makeApp({ DD_API_KEYS: "k1,k2" });
  try {
    assert.equal((await app.request("/v1/models")).status, 401);
    assert.equal(
      (await app.request("/v1/models", { headers: { Authorization: "Bearer k2" } })).status,
      200,
    );
    for (const open of ["/healthz", "/openapi.json", "/docs"]) {
      assert.equal((await app.request(open)).status, 200, open);
    }
  } finally {
    await close();
  }
});

Deno.test("model routes answer 429 with Retry-After when the queue is full", async () => {
  const queue = new WorkQueue({ concurrency: 1, maxWaiting: 0 });
  const { app, close } = await makeApp({}, { queue });
  try {
    const held = queue.tryReserve()!;
    const res = await app.request("/v1/samples", {
      method: "POST",
      body: JSON.stringify({ distribution: "dd_x" }),
      headers: { "Content-Type": "application/json" },
    });
    assert.equal(res.status, 429);
    assert.ok(Number(res.headers.get("Retry-After")) >= 1);
    assert.equal((await res.json()).error.code, "queue_full");
    held.release();
    assert.equal((await app.request("/v1/distributions")).status, 200, "reads do not queue");
  } finally {
    await close();
  }
});

Deno.test("a full queue answers 429 before reading a byte of the body", async () => {
  const queue = new WorkQueue({ concurrency: 1, maxWaiting: 0 });
  const { app, close } = await makeApp({}, { queue });
  try {
    const held = queue.tryReserve()!;
    // A slow upload: 40 chunks of 64 KiB, 25 ms apart.
    let pulls = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(ctl) {
        if (++pulls > 40) return ctl.close();
        await new Promise((r) => setTimeout(r, 25));
        ctl.enqueue(new Uint8Array(64 * 1024));
      },
    }, { highWaterMark: 0 });
    for (const path of ["/v1/distributions", "/v1/samples"]) {
      const res = await app.request(path, {
        method: "POST",
        body,
        headers: { "Content-Type": "application/json" },
        duplex: "half",
      } as RequestInit);
      assert.equal(res.status, 429, path);
      assert.equal((await res.json()).error.code, "queue_full");
      assert.equal(pulls, 0, `${path}: the body was read before the 429`);
    }
    held.release();
  } finally {
    await close();
  }
});
