/**
 * Bad inputs against the real server on 127.0.0.1: each gets a 4xx JSON error, the server
 * keeps serving, and the store is left as it was. The table in functions/README.md lists
 * these cases and statuses.
 */
import assert from "node:assert/strict";
import { startServer } from "../../functions/server.ts";
import { b64, fakeDistribution, makeEngine, pngs, silent, testConfig } from "./_helpers.ts";

const KEY = "bad-input-key";
const MODEL = "tiny-sd2-fixture";

/** A PNG whose IHDR claims width x height (the rest of the file is a real 32x32 PNG). */
function pngClaiming(width: number, height: number): Uint8Array {
  const p = pngs(1)[0]!.slice();
  const v = new DataView(p.buffer);
  v.setUint32(16, width);
  v.setUint32(20, height);
  return p;
}

function multipart(files: Uint8Array[], options = "{}"): FormData {
  const f = new FormData();
  for (const [i, b] of files.entries()) {
    f.append("images", new File([b as Uint8Array<ArrayBuffer>], `f${i}.png`));
  }
  f.append("options", options);
  return f;
}

type Case = {
  name: string;
  path: string;
  init?: RequestInit;
  status: number;
  code: string;
  auth?: string | null;
};

const json = (body: unknown): RequestInit => ({
  method: "POST",
  body: typeof body === "string" ? body : JSON.stringify(body),
  headers: { "Content-Type": "application/json" },
});

function cases(): Case[] {
  const one = [{ base64: b64(pngs(1)[0]!) }];
  const tiny = '{"k":3,"m":2,"s":2,"batch_size":2,"steps":1}';
  return [
    {
      name: "malformed JSON",
      path: "/v1/distributions",
      init: json("{images: ["),
      status: 400,
      code: "invalid_json",
    },
    {
      name: "wrong type: images is a string",
      path: "/v1/distributions",
      init: json({ images: "a.png" }),
      status: 400,
      code: "validation_error",
    },
    {
      name: "wrong type: options.k is a string",
      path: "/v1/distributions",
      init: json({ images: one, options: { k: "3" } }),
      status: 400,
      code: "validation_error",
    },
    {
      name: "wrong type: sample n is 1.5",
      path: "/v1/samples",
      init: json({ distribution: "dd_real", n: 1.5 }),
      status: 400,
      code: "validation_error",
    },
    {
      name: "0 images",
      path: "/v1/distributions",
      init: json({ images: [] }),
      status: 400,
      code: "validation_error",
    },
    {
      name: "1000 images (limit 20)",
      path: "/v1/distributions",
      init: json({ images: Array(1000).fill(one[0]) }),
      status: 400,
      code: "validation_error",
    },
    {
      name: "non-image bytes",
      path: "/v1/distributions",
      init: {
        method: "POST",
        body: multipart([new TextEncoder().encode("hello, not an image at all")], tiny),
      },
      status: 415,
      code: "unsupported_format",
    },
    {
      name: "truncated PNG",
      path: "/v1/distributions",
      init: { method: "POST", body: multipart([pngs(1)[0]!.subarray(0, 60)], tiny) },
      status: 422,
      code: "invalid_image",
    },
    {
      name: "PNG header claiming 50000x50000",
      path: "/v1/distributions",
      init: { method: "POST", body: multipart([pngClaiming(50000, 50000)], tiny) },
      status: 413,
      code: "image_too_large",
    },
    {
      name: "unknown distribution id",
      path: "/v1/distributions/dd_nope",
      status: 404,
      code: "not_found",
    },
    {
      name: "path traversal id ..%2F..%2Fetc",
      path: "/v1/distributions/..%2F..%2Fetc",
      status: 400,
      code: "validation_error",
    },
    {
      name: "path traversal id %2e%2e (URL-normalised away)",
      path: "/v1/distributions/%2e%2e",
      status: 404,
      code: "not_found",
    },
    {
      name: "path traversal on DELETE",
      path: "/v1/distributions/..%2Fx",
      init: { method: "DELETE" },
      status: 400,
      code: "validation_error",
    },
    {
      name: "path traversal in a sample body",
      path: "/v1/samples",
      init: json({ distribution: "../x" }),
      status: 400,
      code: "validation_error",
    },
    {
      name: "unknown job id",
      path: "/v1/jobs/job_aaaaaaaaaaaaaaaaaaaa",
      status: 404,
      code: "not_found",
    },
    {
      name: "private-address image URL (loopback)",
      path: "/v1/distributions",
      init: json({ images: [{ url: "http://127.0.0.1:1/a.png" }] }),
      status: 422,
      code: "url_not_allowed",
    },
    {
      name: "metadata-address image URL",
      path: "/v1/distributions",
      init: json({ images: [{ url: "http://169.254.169.254/latest/meta-data/" }] }),
      status: 422,
      code: "url_not_allowed",
    },
    {
      name: "IPv6 loopback image URL",
      path: "/v1/distributions",
      init: json({ images: [{ url: "http://[::1]/a.png" }] }),
      status: 422,
      code: "url_not_allowed",
    },
    {
      name: "private-address webhook URL",
      path: "/v1/distributions",
      init: json({ images: one, webhook: "http://10.0.0.7/hook" }),
      status: 422,
      code: "url_not_allowed",
    },
    {
      name: "oversized body (3 MiB, limit 2 MiB)",
      path: "/v1/distributions",
      init: {
        method: "POST",
        body: new Uint8Array(3 << 20),
        headers: { "Content-Type": "application/json" },
      },
      status: 413,
      code: "body_too_large",
    },
    {
      name: "unsupported content type",
      path: "/v1/distributions",
      init: { method: "POST", body: "x", headers: { "Content-Type": "text/plain" } },
      status: 415,
      code: "unsupported_media_type",
    },
    {
      name: "missing API key",
      path: "/v1/distributions",
      auth: null,
      status: 401,
      code: "unauthorized",
    },
    {
      name: "wrong API key",
      path: "/v1/distributions",
      auth: "Bearer not-the-key",
      status: 401,
      code: "unauthorized",
    },
    {
      name: "mix of different models",
      path: "/v1/samples",
      init: json({ mix: [{ id: "dd_real", weight: 1 }, { id: "dd_other", weight: 1 }], steps: 1 }),
      status: 422,
      code: "model_mismatch",
    },
    {
      name: "unknown model",
      path: "/v1/distributions",
      init: json({ images: one, model: "sd-9000" }),
      status: 422,
      code: "unknown_model",
    },
    {
      name: "n over the limit",
      path: "/v1/samples",
      init: json({ distribution: "dd_real", n: 17 }),
      status: 400,
      code: "validation_error",
    },
    {
      name: "steps over the limit",
      path: "/v1/samples",
      init: json({ distribution: "dd_real", steps: 151 }),
      status: 400,
      code: "validation_error",
    },
    {
      name: "k over the limit",
      path: "/v1/distributions",
      init: json({ images: one, options: { k: 65 } }),
      status: 400,
      code: "validation_error",
    },
  ];
}

Deno.test("bad inputs: each is a 4xx JSON error, the server keeps serving, the store is unchanged", async () => {
  const { engine, store } = await makeEngine();
  await fakeDistribution(store, "dd_real", MODEL);
  await fakeDistribution(store, "dd_other", "another-model");
  const running = await startServer({
    config: testConfig({
      DD_API_KEYS: KEY,
      DD_ALLOW_PRIVATE_URLS: "0",
      DD_MAX_BODY_BYTES: String(2 << 20),
      DD_WEBHOOK_SECRET: "s",
    }),
    engine,
    log: silent,
    warmUp: false,
  });
  const base = `http://127.0.0.1:${running.addr.port}`;
  try {
    const before = await store.list("");
    for (const c of cases()) {
      const headers = new Headers(c.init?.headers);
      if (c.auth !== null) headers.set("Authorization", c.auth ?? `Bearer ${KEY}`);
      const res = await fetch(base + c.path, { ...c.init, headers });
      const text = await res.text();
      assert.equal(res.status, c.status, `${c.name}: ${text}`);
      assert.match(res.headers.get("Content-Type") ?? "", /application\/json/, c.name);
      const body = JSON.parse(text);
      assert.equal(body.error.code, c.code, c.name);
      assert.equal(typeof body.error.message, "string", c.name);
      const health = await fetch(`${base}/healthz`);
      assert.equal(health.status, 200, `server still serving after: ${c.name}`);
      await health.body?.cancel();
      assert.deepEqual(await store.list(""), before, `store unchanged after: ${c.name}`);
    }
  } finally {
    await running.shutdown();
    await Deno.remove(store.root, { recursive: true });
  }
});
