import assert from "node:assert/strict";
import { Hono } from "hono";
import { queue, WorkQueue } from "../../../../functions/middleware/queue/index.ts";
import { errorHandler } from "../../../../functions/errors.ts";
import type { AppEnv } from "../../../../functions/env.ts";

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

Deno.test("WorkQueue runs one at a time and in order", async () => {
  const q = new WorkQueue({ concurrency: 1, maxWaiting: 2 });
  const order: string[] = [];
  const gate = deferred();
  const a = q.tryReserve()!.run(async () => {
    order.push("a start");
    await gate.promise;
    order.push("a end");
  });
  const b = q.tryReserve()!.run(() => Promise.resolve(void order.push("b")));
  const c = q.tryReserve()!.run(() => Promise.resolve(void order.push("c")));
  assert.equal(q.tryReserve(), null);
  assert.equal(q.running, 1);
  gate.resolve();
  await Promise.all([a, b, c]);
  assert.deepEqual(order, ["a start", "a end", "b", "c"]);
  assert.equal(q.reserved, 0);
});

Deno.test("WorkQueue frees the place of a waiter that is aborted, and of an unused ticket", async () => {
  const q = new WorkQueue({ concurrency: 1, maxWaiting: 1 });
  const gate = deferred();
  const running = q.tryReserve()!.run(() => gate.promise);
  const ctl = new AbortController();
  const waiting = q.tryReserve()!.run(() => Promise.resolve(1), ctl.signal);
  ctl.abort(new Error("gone"));
  await assert.rejects(waiting, /gone/);
  const t = q.tryReserve()!;
  assert.equal(q.tryReserve(), null);
  t.release();
  assert.equal(q.reserved, 1);
  gate.resolve();
  await running;
  assert.equal(q.reserved, 0);
});

Deno.test("queue() answers 429 with Retry-After when full, and releases unused tickets", async () => {
  const q = new WorkQueue({ concurrency: 1, maxWaiting: 0 });
  const app = new Hono<AppEnv>();
  app.onError(errorHandler(() => {}));
  app.use(queue(q));
  app.post("/", (c) => c.text("ok"));
  assert.equal((await app.request("/", { method: "POST" })).status, 200);
  assert.equal(q.reserved, 0);
  const held = q.tryReserve()!;
  const res = await app.request("/", { method: "POST" });
  assert.equal(res.status, 429);
  assert.ok(Number(res.headers.get("Retry-After")) >= 1);
  assert.equal((await res.json()).error.code, "queue_full");
  held.release();
});
