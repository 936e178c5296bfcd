import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { deliverWebhook, signBody } from "../../../functions/lib/webhook.ts";

Deno.test("signBody() is the hex HMAC-SHA256 of the body", async () => {
  const body = new TextEncoder().encode('{"type":"job.succeeded"}');
  const want = createHmac("sha256", "s3cret").update(body).digest("hex");
  assert.equal(await signBody("s3cret", body), `sha256=${want}`);
});

Deno.test("deliverWebhook() retries until a 2xx and signs every try", async () => {
  const seen: { sig: string | null; body: string }[] = [];
  const answers = [500, 0, 204];
  const fakeFetch = ((_url: string | URL | Request, init?: RequestInit) => {
    const status = answers[seen.length]!;
    seen.push({
      sig: new Headers(init?.headers).get("X-DD-Signature"),
      body: new TextDecoder().decode(init?.body as Uint8Array),
    });
    if (status === 0) return Promise.reject(new TypeError("connection refused"));
    return Promise.resolve(new Response(null, { status }));
  }) as typeof fetch;
  const r = await deliverWebhook("http://hooks.test/x", { ok: true }, {
    secret: "k",
    net: { allowPrivate: true, timeoutMs: 1000, fetch: fakeFetch },
    backoffMs: [1, 1],
  });
  assert.deepEqual(r, { delivered: true, attempts: 3, status: 204 });
  const want = "sha256=" + createHmac("sha256", "k").update('{"ok":true}').digest("hex");
  for (const s of seen) assert.deepEqual(s, { sig: want, body: '{"ok":true}' });
});

Deno.test("deliverWebhook() gives up after the last try", async () => {
  let calls = 0;
  const fakeFetch = (() => {
    calls++;
    return Promise.resolve(new Response("no", { status: 503 }));
  }) as typeof fetch;
  const r = await deliverWebhook("http://hooks.test/x", {}, {
    secret: "k",
    net: { allowPrivate: true, timeoutMs: 1000, fetch: fakeFetch },
    backoffMs: [1, 1],
  });
  assert.deepEqual(r, { delivered: false, attempts: 3, status: 503 });
  assert.equal(calls, 3);
});

Deno.test("deliverWebhook() never posts to a private address when not allowed", async () => {
  let calls = 0;
  const fakeFetch = (() => {
    calls++;
    return Promise.resolve(new Response(null, { status: 200 }));
  }) as typeof fetch;
  const r = await deliverWebhook("http://127.0.0.1:9/x", {}, {
    secret: "k",
    net: { allowPrivate: false, timeoutMs: 1000, fetch: fakeFetch },
    backoffMs: [],
  });
  assert.equal(r.delivered, false);
  assert.equal(calls, 0);
});
