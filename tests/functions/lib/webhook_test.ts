import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import {
  deliverWebhook,
  signBody,
  signStandard,
  verifyStandard,
} from "../../../functions/lib/webhook.ts";

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

// The test vector of the Standard Webhooks reference libraries (svix-webhooks,
// go/webhook_test.go TestWebhookSign; the same in standard-webhooks' libraries).
const VECTOR = {
  secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
};

Deno.test("signStandard() matches the Standard Webhooks test vector", async () => {
  const body = new TextEncoder().encode(VECTOR.body);
  assert.equal(
    await signStandard(VECTOR.secret, VECTOR.id, VECTOR.timestamp, body),
    VECTOR.signature,
  );
  // A plain secret is its UTF-8 bytes: the same as whsec_ + base64 of them.
  assert.equal(
    await signStandard("s3cret", "msg_1", 1, body),
    await signStandard("whsec_" + btoa("s3cret"), "msg_1", 1, body),
  );
});

Deno.test("verifyStandard() accepts the vector in time and refuses replays and tampering", async () => {
  const body = new TextEncoder().encode(VECTOR.body);
  const headers = (sig = VECTOR.signature, ts = VECTOR.timestamp) =>
    new Headers({
      "webhook-id": VECTOR.id,
      "webhook-timestamp": String(ts),
      "webhook-signature": sig,
    });
  const nowS = VECTOR.timestamp + 60;
  assert.ok(await verifyStandard(VECTOR.secret, headers(), body, { nowS }));
  assert.ok(
    await verifyStandard(VECTOR.secret, headers(`v1,bogus ${VECTOR.signature}`), body, { nowS }),
  );
  assert.ok(!(await verifyStandard(VECTOR.secret, headers(), body, { nowS: nowS + 600 })));
  assert.ok(
    !(await verifyStandard(VECTOR.secret, headers(), new TextEncoder().encode("{}"), { nowS })),
  );
  assert.ok(!(await verifyStandard("whsec_" + btoa("other"), headers(), body, { nowS })));
});

Deno.test("deliverWebhook() sends the Standard Webhooks headers: one id, a fresh timestamp per try", async () => {
  const seen: Headers[] = [];
  const bodies: string[] = [];
  const answers = [500, 200];
  const fakeFetch = ((_url: string | URL | Request, init?: RequestInit) => {
    seen.push(new Headers(init?.headers));
    bodies.push(new TextDecoder().decode(init?.body as Uint8Array));
    return Promise.resolve(new Response(null, { status: answers[seen.length - 1]! }));
  }) as typeof fetch;
  let clock = 1_700_000_000_000;
  const r = await deliverWebhook("http://hooks.test/x", { type: "job.succeeded" }, {
    secret: VECTOR.secret,
    net: { allowPrivate: true, timeoutMs: 1000, fetch: fakeFetch },
    backoffMs: [1],
    now: () => (clock += 5000),
  });
  assert.deepEqual(r, { delivered: true, attempts: 2, status: 200 });
  assert.match(seen[0]!.get("webhook-id")!, /^msg_[a-z2-7]{24}$/);
  assert.equal(seen[0]!.get("webhook-id"), seen[1]!.get("webhook-id"));
  assert.deepEqual(seen.map((h) => h.get("webhook-timestamp")), ["1700000005", "1700000010"]);
  for (const [i, h] of seen.entries()) {
    const body = new TextEncoder().encode(bodies[i]!);
    const want = await signStandard(
      VECTOR.secret,
      h.get("webhook-id")!,
      Number(h.get("webhook-timestamp")),
      body,
    );
    assert.equal(h.get("webhook-signature"), want);
    assert.ok(
      await verifyStandard(VECTOR.secret, h, body, { nowS: Number(h.get("webhook-timestamp")) }),
    );
  }
});
