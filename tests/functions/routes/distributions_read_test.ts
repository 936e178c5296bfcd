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
    assert.equal((await got.json()).model.name, "tiny-sd2-fixture");
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
