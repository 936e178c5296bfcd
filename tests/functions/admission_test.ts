/**
 * Admission before reading, over real HTTP: with the work queue full, a slow upload that has
 * sent its headers and 1 KiB of a declared 20 MiB body gets its 429 at once.
 */
import assert from "node:assert/strict";
import { WorkQueue } from "../../functions/middleware/queue/index.ts";
import { startServer } from "../../functions/server.ts";
import { makeEngine, silent, testConfig } from "./_helpers.ts";

Deno.test("a full server answers a slow 20 MiB upload 429 after 1 KiB, without waiting for the rest", async () => {
  const { engine, close } = await makeEngine();
  const queue = new WorkQueue({ concurrency: 1, maxWaiting: 0 });
  const running = await startServer({
    config: testConfig(),
    engine,
    log: silent,
    queue,
    warmUp: false,
  });
  const held = queue.tryReserve()!;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: running.addr.port });
  try {
    const head = "POST /v1/distributions HTTP/1.1\r\nHost: x\r\n" +
      "Content-Type: application/json\r\nContent-Length: 20971520\r\n\r\n";
    await conn.write(new TextEncoder().encode(head));
    await conn.write(new Uint8Array(1024).fill(0x20));
    const buf = new Uint8Array(4096);
    const t = performance.now();
    const n = await Promise.race([
      conn.read(buf),
      new Promise<null>((r) => setTimeout(() => r(null), 5000)),
    ]);
    assert.ok(n, "no answer within 5 s");
    const text = new TextDecoder().decode(buf.subarray(0, n));
    assert.match(text, /^HTTP\/1\.1 429/);
    assert.match(text, /queue_full/);
    assert.ok(performance.now() - t < 5000);
  } finally {
    conn.close();
    held.release();
    await running.shutdown();
    await close();
  }
});
