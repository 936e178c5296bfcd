import assert from "node:assert/strict";
import { fakeDistribution, makeApp } from "../_helpers.ts";

Deno.test("GET /v1/distributions pages through manifests in id order", async () => {
  const { app, store, close } = await makeApp();
  try {
    for (const id of ["dd_c", "dd_a", "dd_b"]) {
      await fakeDistribution(store, id, "tiny-sd2-fixture");
    }
    const p1 = await (await app.request("/v1/distributions?limit=2")).json();
    assert.deepEqual(p1.items.map((m: { id: string }) => m.id), ["dd_a", "dd_b"]);
    assert.equal(p1.next, "dd_b");
    const p2 = await (await app.request(`/v1/distributions?limit=2&after=${p1.next}`)).json();
    assert.deepEqual(p2.items.map((m: { id: string }) => m.id), ["dd_c"]);
    assert.equal(p2.next, null);
    // Listings are summaries: no loss curve, references counted, snake_case names.
    assert.deepEqual(Object.keys(p2.items[0]).sort(), [
      "created_at",
      "d",
      "final_loss",
      "id",
      "k",
      "l",
      "m",
      "model",
      "options",
      "reference_count",
      "template",
    ]);
    assert.deepEqual([p2.items[0].k, p2.items[0].final_loss, p2.items[0].reference_count], [
      3,
      1,
      0,
    ]);
    assert.equal((await app.request("/v1/distributions?limit=0")).status, 400);
    assert.equal((await app.request("/v1/distributions?after=..%2Fx")).status, 400);
  } finally {
    await close();
  }
});

Deno.test("GET and DELETE /v1/distributions/{id}", async () => {
  const { app, store, close } = await makeApp();
  try {
    await fakeDistribution(store, "dd_a", "tiny-sd2-fixture");
    const got = await app.request("/v1/distributions/dd_a");
    assert.equal(got.status, 200);
    const full = await got.json();
    assert.equal(full.model.name, "tiny-sd2-fixture");
    assert.deepEqual([full.k, full.m, full.l, full.d, full.loss_curve], [3, 2, 77, 32, [1]]);
    assert.equal(typeof full.created_at, "string");
    assert.equal((await app.request("/v1/distributions/dd_a", { method: "DELETE" })).status, 204);
    assert.deepEqual(await store.list(""), []);
    for (const method of ["GET", "DELETE"]) {
      const res = await app.request("/v1/distributions/dd_a", { method });
      assert.equal(res.status, 404);
      assert.equal((await res.json()).error.code, "not_found");
    }
  } finally {
    await close();
  }
});

Deno.test("GET /v1/jobs/{id} answers 404 for unknown and 400 for malformed ids", async () => {
  const { app, close } = await makeApp();
  try {
    assert.equal((await app.request("/v1/jobs/job_aaaaaaaaaaaaaaaaaaaa")).status, 404);
    assert.equal((await app.request("/v1/jobs/..%2F..%2Fetc")).status, 400);
  } finally {
    await close();
  }
});
