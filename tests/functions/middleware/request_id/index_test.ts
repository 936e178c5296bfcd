import assert from "node:assert/strict";
import { Hono } from "hono";
import { requestId, type RequestIdEnv } from "../../../../functions/middleware/request_id/index.ts";

function app() {
  return new Hono<RequestIdEnv>().use(requestId({ generate: () => "fresh" }))
    .get("/", (c) => c.text(c.get("requestId")));
}

Deno.test("requestId() keeps a valid incoming id and echoes it", async () => {
  const res = await app().request("/", { headers: { "X-Request-Id": "abc.123_x" } });
  assert.equal(await res.text(), "abc.123_x");
  assert.equal(res.headers.get("X-Request-Id"), "abc.123_x");
});

Deno.test("requestId() replaces a missing or invalid id", async () => {
  const cases: Record<string, string>[] = [
    {},
    { "X-Request-Id": "bad id\twith spaces" },
    { "X-Request-Id": "x".repeat(200) },
  ];
  for (const headers of cases) {
    const res = await app().request("/", { headers });
    assert.equal(await res.text(), "fresh");
    assert.equal(res.headers.get("X-Request-Id"), "fresh");
  }
});

Deno.test("requestId() makes random ids by default", async () => {
  const a = new Hono<RequestIdEnv>().use(requestId()).get("/", (c) => c.text(c.get("requestId")));
  const [x, y] = await Promise.all(
    [a.request("/"), a.request("/")].map(async (r) => (await r).text()),
  );
  assert.match(x!, /^req_[0-9a-f]{16}$/);
  assert.notEqual(x, y);
});
