/**
 * `webhook_events` on POST /v1/distributions: checked at the edge (JSON array or multipart
 * comma list of start, progress, completed; only with a webhook), before any work.
 */
import assert from "node:assert/strict";
import { b64, makeApp, pngs, postJson, testConfig } from "../_helpers.ts";

Deno.test("POST /v1/distributions checks webhook_events before any work", async () => {
  const { app, store, close } = await makeApp({
    DD_WEBHOOK_SECRET: "whsec_" + btoa("k".repeat(24)),
  });
  try {
    const images = pngs(1).map((p) => ({ base64: b64(p) }));
    const hook = "http://127.0.0.1:9/hook";
    const cases: [unknown, RegExp][] = [
      [{ images, webhook_events: ["start"] }, /webhook_events: needs a webhook/],
      [{ images, webhook: hook, webhook_events: ["finish"] }, /webhook_events/],
      [{ images, webhook: hook, webhook_events: [] }, /webhook_events/],
    ];
    for (const [body, re] of cases) {
      const res = await app.request(
        "/v1/distributions",
        postJson(body, { Prefer: "respond-async" }),
      );
      assert.equal(res.status, 400, JSON.stringify(body).slice(0, 80));
      assert.match((await res.json()).error.message, re);
    }
    const form = new FormData();
    form.append("images", new File([pngs(1)[0]! as Uint8Array<ArrayBuffer>], "a.png"));
    form.append("webhook", hook);
    form.append("webhook_events", "start,done");
    const res = await app.request("/v1/distributions", { method: "POST", body: form });
    assert.equal(res.status, 400);
    assert.match(
      (await res.json()).error.message,
      /"done" is not one of start, progress, completed/,
    );
    assert.deepEqual(await store.list(""), []);
  } finally {
    await close();
  }
});

Deno.test("DD_WEBHOOK_SECRET in the whsec_ form must be base64", () => {
  assert.throws(() => testConfig({ DD_WEBHOOK_SECRET: "whsec_not base64!" }), /DD_WEBHOOK_SECRET/);
  assert.equal(testConfig({ DD_WEBHOOK_SECRET: "whsec_" + btoa("k") }).webhookSecret.length, 10);
});
