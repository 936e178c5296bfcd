import assert from "node:assert/strict";
import { Hono } from "hono";
import { auth, timingSafeEqual } from "../../../../functions/middleware/auth/index.ts";
import { errorHandler } from "../../../../functions/errors.ts";
import type { AppEnv } from "../../../../functions/env.ts";

function app(keys: string[]) {
  const a = new Hono<AppEnv>();
  a.onError(errorHandler(() => {}));
  a.use(auth({ keys, open: ["/healthz"] }));
  a.get("/healthz", (c) => c.text("ok"));
  a.get("/v1/x", (c) => c.text("secret"));
  return a;
}

Deno.test("auth() lets everything through when no keys are configured", async () => {
  assert.equal((await app([]).request("/v1/x")).status, 200);
});

Deno.test("auth() refuses a missing or wrong key with 401 JSON", async () => {
  const a = app(["k-one", "k-two"]);
  const cases: Record<string, string>[] = [
    {},
    { Authorization: "Bearer nope" },
    { Authorization: "Basic k-one" },
  ];
  for (const headers of cases) {
    const res = await a.request("/v1/x", { headers });
    assert.equal(res.status, 401);
    assert.match(res.headers.get("WWW-Authenticate") ?? "", /^Bearer/);
    assert.equal((await res.json()).error.code, "unauthorized");
  }
});

Deno.test("auth() accepts any configured key", async () => {
  const a = app(["k-one", "k-two"]);
  for (const key of ["k-one", "k-two"]) {
    const res = await a.request("/v1/x", { headers: { Authorization: `Bearer ${key}` } });
    assert.equal(await res.text(), "secret");
  }
});

Deno.test("auth() leaves open paths open", async () => {
  assert.equal((await app(["k"]).request("/healthz")).status, 200);
});

Deno.test("timingSafeEqual() compares bytes", () => {
  assert.ok(timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])));
  assert.ok(!timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3])));
  assert.ok(!timingSafeEqual(new Uint8Array([1]), new Uint8Array([1, 2])));
});
