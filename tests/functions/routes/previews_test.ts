/**
 * Training previews over HTTP: `preview_every` gives SSE `preview` events (inline PNG), or, for
 * an async job, PNGs kept with the job (listed and served under /v1/jobs/{id}/previews) and
 * announced in `job.progress` webhooks; it is refused where there is no channel for them.
 */
import assert from "node:assert/strict";
import { decodeImage } from "../../../core/images/decode.ts";
import { verifyStandard } from "../../../functions/lib/webhook.ts";
import { b64, makeApp, parseSse, pngs, postJson, TINY } from "../_helpers.ts";

const SECRET = "whsec_" + btoa("a preview test secret 24b");

Deno.test("preview_every over SSE: a preview event after every N steps, before done", async () => {
  const { app, close } = await makeApp();
  try {
    const images = pngs(2).map((p) => ({ base64: b64(p) }));
    const res = await app.request(
      "/v1/distributions",
      postJson({ images, options: { ...TINY, steps: 4 }, preview_every: 2 }, {
        Accept: "text/event-stream",
      }),
    );
    const events = parseSse(await res.text());
    assert.deepEqual(events.map((e) => e.event), [
      "progress",
      "progress",
      "preview",
      "progress",
      "progress",
      "preview",
      "done",
    ]);
    const p = events[2]!.data as { step: number; steps: number; png_base64: string };
    assert.deepEqual([p.step, p.steps], [2, 4]);
    const grid = await decodeImage(Uint8Array.from(atob(p.png_base64), (c) => c.charCodeAt(0)));
    assert.deepEqual([grid.width, grid.height], [70, 70], "2x2 tiles of 32 px, 2 px padding");
  } finally {
    await close();
  }
});

Deno.test("preview_every on an async job: kept with the job, listed, served, in job.progress webhooks", async () => {
  const hooks: { body: string; headers: Headers }[] = [];
  const fakeFetch = ((_u: string | URL | Request, init?: RequestInit) => {
    hooks.push({
      body: new TextDecoder().decode(init?.body as Uint8Array),
      headers: new Headers(init?.headers),
    });
    return Promise.resolve(new Response(null, { status: 204 }));
  }) as typeof fetch;
  const { app, deps, close } = await makeApp({ DD_WEBHOOK_SECRET: SECRET }, {
    net: { fetch: fakeFetch },
    webhookProgressMs: 60_000,
  });
  try {
    const images = pngs(2).map((p) => ({ base64: b64(p) }));
    const res = await app.request(
      "/v1/distributions",
      postJson({
        images,
        options: { ...TINY, steps: 4 },
        preview_every: 2,
        webhook: "http://127.0.0.1:9/hook",
        webhook_events: ["progress", "completed"],
      }, { Prefer: "respond-async" }),
    );
    assert.equal(res.status, 202, await res.clone().text());
    const job = await res.json();
    await deps.jobs.idle();
    const list = await (await app.request(`/v1/jobs/${job.id}/previews`)).json();
    assert.deepEqual(list.items, [
      { step: 2, url: `/v1/jobs/${job.id}/previews/2` },
      { step: 4, url: `/v1/jobs/${job.id}/previews/4` },
    ]);
    const png = await app.request(list.items[1].url);
    assert.equal(png.status, 200);
    assert.equal(png.headers.get("content-type"), "image/png");
    const grid = await decodeImage(new Uint8Array(await png.arrayBuffer()));
    assert.deepEqual([grid.width, grid.height], [70, 70]);
    assert.equal((await app.request(`/v1/jobs/${job.id}/previews/3`)).status, 404);

    const sent = hooks.map((h) => JSON.parse(h.body));
    const previews = sent.filter((b) => b.preview).map((
      b,
    ) => [b.type, b.preview.step, b.preview.url]);
    assert.deepEqual(previews, [
      ["job.progress", 2, `/v1/jobs/${job.id}/previews/2`],
      ["job.progress", 4, `/v1/jobs/${job.id}/previews/4`],
    ]);
    assert.equal(sent.at(-1).type, "job.succeeded");
    for (const h of hooks) {
      assert.ok(await verifyStandard(SECRET, h.headers, new TextEncoder().encode(h.body)));
    }
  } finally {
    await close();
  }
});

Deno.test("preview_every is refused without a channel, or when it would draw too many", async () => {
  const { app, store, close } = await makeApp();
  try {
    const images = pngs(1).map((p) => ({ base64: b64(p) }));
    const cases: [unknown, Record<string, string>, RegExp][] = [
      [{ images, preview_every: 1 }, {}, /previews need Accept: text\/event-stream/],
      [
        { images, options: { steps: 1000 }, preview_every: 10 },
        { Accept: "text/event-stream" },
        /100 previews for 1000 steps; at most 50/,
      ],
      [{ images, preview_every: 0 }, { Accept: "text/event-stream" }, /preview_every/],
    ];
    for (const [body, headers, re] of cases) {
      const res = await app.request("/v1/distributions", postJson(body, headers));
      assert.equal(res.status, 400, JSON.stringify(body).slice(0, 60));
      assert.match((await res.json()).error.message, re);
    }
    assert.deepEqual(await store.list(""), []);
  } finally {
    await close();
  }
});
