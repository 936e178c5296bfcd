import assert from "node:assert/strict";
import { Hono } from "hono";
import { bodyLimit } from "../../../../functions/middleware/body_limit/index.ts";
import { errorHandler } from "../../../../functions/errors.ts";
import type { AppEnv } from "../../../../functions/env.ts";

function app(maxBytes: number, calls: { n: number }) {
  const a = new Hono<AppEnv>();
  a.onError(errorHandler(() => {}));
  a.use(bodyLimit({ maxBytes }));
  a.post("/", async (c) => {
    calls.n++;
    return c.text(String((await c.req.arrayBuffer()).byteLength));
  });
  return a;
}

function stream(
  chunks: number,
  size: number,
): { body: ReadableStream<Uint8Array>; read: () => number } {
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(ctl) {
      if (sent >= chunks) return ctl.close();
      sent++;
      ctl.enqueue(new Uint8Array(size));
    },
  });
  return { body, read: () => sent };
}

Deno.test("bodyLimit() passes a body under the limit on to the handler", async () => {
  const calls = { n: 0 };
  const res = await app(100, calls).request("/", { method: "POST", body: new Uint8Array(100) });
  assert.equal(await res.text(), "100");
  assert.equal(calls.n, 1);
});

Deno.test("bodyLimit() refuses a declared Content-Length over the limit before the handler", async () => {
  const calls = { n: 0 };
  const res = await app(10, calls).request("/", {
    method: "POST",
    body: new Uint8Array(11),
    headers: { "Content-Length": "11" },
  });
  assert.equal(res.status, 413);
  assert.equal((await res.json()).error.code, "body_too_large");
  assert.equal(calls.n, 0);
});

Deno.test("bodyLimit() counts a streamed body and stops reading past the limit", async () => {
  const calls = { n: 0 };
  const s = stream(1000, 1024);
  const res = await app(4096, calls).request("/", { method: "POST", body: s.body });
  assert.equal(res.status, 413);
  assert.equal(calls.n, 0);
  assert.ok(s.read() < 10, `read ${s.read()} chunks of 1000`);
});

Deno.test("bodyLimit() hands a streamed body under the limit to the handler", async () => {
  const calls = { n: 0 };
  const s = stream(4, 1024);
  const res = await app(4096, calls).request("/", { method: "POST", body: s.body });
  assert.equal(await res.text(), "4096");
});
