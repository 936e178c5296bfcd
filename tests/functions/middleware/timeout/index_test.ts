import assert from "node:assert/strict";
import { Hono } from "hono";
import { timeout } from "../../../../functions/middleware/timeout/index.ts";
import { errorHandler } from "../../../../functions/errors.ts";
import type { AppEnv } from "../../../../functions/env.ts";

function app(ms: number, shutdown?: AbortSignal) {
  const a = new Hono<AppEnv>();
  a.onError(errorHandler(() => {}));
  a.use(timeout({ ms, ...(shutdown ? { shutdown } : {}) }));
  return a;
}

Deno.test("timeout() answers 504 and aborts the signal when the handler overruns", async () => {
  let seen: AbortSignal | undefined;
  const a = app(20).get("/", async (c) => {
    seen = c.get("deadline").signal;
    await new Promise((r) => setTimeout(r, 100));
    return c.text("late");
  });
  const res = await a.request("/");
  assert.equal(res.status, 504);
  assert.equal((await res.json()).error.code, "timeout");
  assert.ok(seen?.aborted);
  await new Promise((r) => setTimeout(r, 100));
});

Deno.test("timeout() clears the deadline once the handler answers", async () => {
  let seen: AbortSignal | undefined;
  const a = app(30).get("/", (c) => {
    seen = c.get("deadline").signal;
    return c.text("ok");
  });
  assert.equal((await a.request("/")).status, 200);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(seen?.aborted, false);
});

Deno.test("timeout() keeps a held deadline running until done() is called", async () => {
  let done = () => {};
  let seen: AbortSignal | undefined;
  const a = app(20).get("/", (c) => {
    done = c.get("deadline").hold();
    seen = c.get("deadline").signal;
    return c.text("streaming");
  });
  assert.equal((await a.request("/")).status, 200);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(seen?.aborted, true);
  done();
});

Deno.test("timeout() answers 503 when the server is shutting down", async () => {
  const stop = new AbortController();
  const a = app(1000, stop.signal).get("/", async (c) => {
    stop.abort();
    await new Promise((r) => setTimeout(r, 10));
    return c.text("late");
  });
  const res = await a.request("/");
  assert.equal(res.status, 503);
  assert.equal((await res.json()).error.code, "shutting_down");
});
