/**
 * End to end over real HTTP: the server on 127.0.0.1 (port 0), a fetch client, a second
 * server on 127.0.0.1 serving reference images and receiving webhooks.
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { decodeImage } from "../../core/images/decode.ts";
import { startServer } from "../../functions/server.ts";
import { makeEngine, parseSse, pngs, silent, testConfig, TINY } from "./_helpers.ts";

const KEY = "e2e-key";
const SECRET = "whsec-e2e";

/** Serves /img/<i>.png and records webhook POSTs to /hook (the first one is answered 500). */
function sideServer(images: Uint8Array[]) {
  const hooks: { body: string; signature: string | null; status: number }[] = [];
  let delivered!: () => void;
  const gotHook = new Promise<void>((r) => (delivered = r));
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    const img = /^\/img\/(\d+)\.png$/.exec(url.pathname);
    if (img) {
      return new Response(images[Number(img[1])] as Uint8Array<ArrayBuffer>, {
        headers: { "Content-Type": "image/png" },
      });
    }
    if (url.pathname === "/hook") {
      const body = await req.text();
      const status = hooks.length === 0 ? 500 : 200;
      hooks.push({ body, signature: req.headers.get("X-DD-Signature"), status });
      if (status === 200) delivered();
      return new Response(null, { status });
    }
    return new Response("no", { status: 404 });
  });
  const base = `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}`;
  return { server, base, hooks, gotHook };
}

Deno.test("e2e: train → get → sample → mix → embeddings → list → delete; SSE; async + webhook; idempotency", async () => {
  const { engine, store } = await makeEngine();
  const side = sideServer(pngs(3));
  const running = await startServer({
    config: testConfig({ DD_API_KEYS: KEY, DD_WEBHOOK_SECRET: SECRET }),
    engine,
    log: silent,
    webhookBackoffMs: [20, 40],
  });
  const base = `http://127.0.0.1:${running.addr.port}`;
  const auth = { Authorization: `Bearer ${KEY}` };
  const call = (path: string, init: RequestInit = {}) =>
    fetch(base + path, {
      ...init,
      headers: { ...auth, ...(init.headers as Record<string, string>) },
    });
  const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
    method: "POST",
    body: JSON.stringify(body),
    headers: { "Content-Type": "application/json", ...headers },
  });
  try {
    // Ready once the default model is loaded.
    for (let i = 0; i < 200; i++) {
      const r = await fetch(`${base}/readyz`);
      await r.body?.cancel();
      if (r.status === 200) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal((await (await fetch(`${base}/readyz`)).json()).status, "ok");
    const unauth = await fetch(`${base}/v1/models`);
    assert.equal(unauth.status, 401);
    await unauth.body?.cancel();

    // 1. Train (multipart, synchronous) with an Idempotency-Key; the retry replays.
    const trainForm = () => {
      const f = new FormData();
      for (const [i, p] of pngs(2).entries()) {
        f.append("images", new File([p as Uint8Array<ArrayBuffer>], `r${i}.png`));
      }
      f.append("options", JSON.stringify(TINY));
      return f;
    };
    const idem = { "Idempotency-Key": "e2e-train-1" };
    const r1 = await call("/v1/distributions", {
      method: "POST",
      body: trainForm(),
      headers: idem,
    });
    assert.equal(r1.status, 201);
    const a = await r1.json();
    const r1b = await call("/v1/distributions", {
      method: "POST",
      body: trainForm(),
      headers: idem,
    });
    assert.equal(r1b.status, 201);
    assert.equal((await r1b.json()).id, a.id);
    assert.equal((await engine.list()).length, 1, "the retry must not train again");

    // 2. Get.
    const got = await call(`/v1/distributions/${a.id}`);
    assert.deepEqual((await got.json()).files, a.files);

    // 3. Sample: a PNG, then JSON.
    const png = await call(
      "/v1/samples",
      json({ distribution: a.id, steps: 2, seed: 3 }, { Accept: "image/png" }),
    );
    assert.equal(png.headers.get("Content-Type"), "image/png");
    const img = await decodeImage(new Uint8Array(await png.arrayBuffer()));
    assert.deepEqual([img.width, img.height], [32, 32]);
    const many = await (await call("/v1/samples", json({ distribution: a.id, steps: 2, n: 2 })))
      .json();
    assert.equal(many.images.length, 2);

    // 4. SSE training from image URLs (the side server on 127.0.0.1, allowed by the flag).
    const sse = await call(
      "/v1/distributions",
      json({
        images: [0, 1, 2].map((i) => ({ url: `${side.base}/img/${i}.png` })),
        options: TINY,
      }, { Accept: "text/event-stream" }),
    );
    const events = parseSse(await sse.text());
    assert.deepEqual(events.map((e) => e.event), ["progress", "progress", "progress", "done"]);
    const b = (events[3]!.data as { manifest: { id: string; references: unknown[] } }).manifest;
    assert.equal(b.references.length, 3);
    assert.deepEqual(Object.keys(events[0]!.data as object).sort(), [
      "eta_seconds",
      "loss",
      "step",
      "steps",
    ]);
    assert.equal(running.deps.queue.reserved, 0, "the stream gave its queue place back");

    // 5. Mix and embeddings.
    const mix = await call(
      "/v1/samples",
      json({ mix: [{ id: a.id, weight: 1 }, { id: b.id, weight: 1 }], steps: 2 }),
    );
    assert.equal(mix.status, 200);
    assert.equal((await mix.json()).images.length, 1);
    const emb = await call(
      "/v1/embeddings",
      json({ mix: [{ id: a.id, weight: 2 }, { id: b.id, weight: 1 }], n: 2 }),
    );
    assert.equal(emb.headers.get("Content-Type"), "application/octet-stream");
    assert.ok((await emb.arrayBuffer()).byteLength > 2 * 77 * 32 * 4);

    // 6. Async with a webhook: the receiver fails once, the retry is delivered and verifies.
    const acc = await call(
      "/v1/distributions",
      json({
        images: [{ url: `${side.base}/img/2.png` }],
        options: TINY,
        webhook: `${side.base}/hook`,
      }, { Prefer: "respond-async" }),
    );
    assert.equal(acc.status, 202);
    const job = await acc.json();
    assert.equal(acc.headers.get("Location"), `/v1/jobs/${job.id}`);
    await side.gotHook;
    await running.deps.jobs.idle();
    assert.deepEqual(side.hooks.map((h) => h.status), [500, 200]);
    for (const h of side.hooks) {
      const want = "sha256=" + createHmac("sha256", SECRET).update(h.body).digest("hex");
      assert.equal(h.signature, want);
    }
    const hook = JSON.parse(side.hooks[1]!.body);
    assert.equal(hook.type, "job.succeeded");
    const final = await (await call(`/v1/jobs/${job.id}`)).json();
    assert.equal(final.status, "succeeded");
    assert.equal(final.progress.step, TINY.steps);
    assert.equal(final.manifest_id, hook.manifest.id);
    assert.deepEqual(final.webhook, { status: "delivered", attempts: 2 });

    // 7. List, delete.
    const list = await (await call("/v1/distributions")).json();
    assert.deepEqual(
      list.items.map((m: { id: string }) => m.id),
      [a.id, b.id, final.manifest_id].sort(),
    );
    const del = await call(`/v1/distributions/${a.id}`, { method: "DELETE" });
    assert.equal(del.status, 204);
    const gone = await call(`/v1/distributions/${a.id}`);
    assert.equal(gone.status, 404);
    assert.equal((await gone.json()).error.code, "not_found");
  } finally {
    await running.shutdown();
    await side.server.shutdown();
    await Deno.remove(store.root, { recursive: true });
  }
});
