/**
 * /openapi.json carries parameters, schemas and examples; /docs renders them in a real headless
 * Chromium with every other host unreachable (a dead proxy): the operations and their parameters
 * are visible. A missing browser fails the test (CI installs it: .ci/run).
 */
import assert from "node:assert/strict";
import { findChromium } from "../../helpers/cdp.ts";
import { makeApp } from "../_helpers.ts";

Deno.test("GET /openapi.json carries parameters, schemas and examples", async () => {
  const { app, close } = await makeApp();
  try {
    const doc = await (await app.request("/openapi.json")).json();
    const ti = doc.paths["/v1/distributions/{id}/textual_inversion"].get;
    assert.deepEqual(ti.parameters.map((p: { name: string }) => p.name).sort(), [
      "dtype",
      "id",
      "name",
      "prompts",
    ]);
    assert.ok(ti.parameters.every((p: { schema?: unknown }) => p.schema));
    const list = doc.paths["/v1/distributions"].get.parameters;
    assert.deepEqual(list.map((p: { name: string }) => p.name), ["limit", "after"]);
    const s = doc.components.schemas;
    assert.match(s.TrainOptions.properties.batch_size.description, /reference images per step/);
    assert.equal(s.TrainOptions.properties.K, undefined);
    assert.deepEqual(s.TrainOptions.example, { k: 8, m: 4, steps: 300, batch_size: 4, seed: 1 });
    assert.ok(s.SamplesRequest.example.mix);
    assert.ok(s.TrainJsonRequest.example.images);
    assert.match(s.SamplesRequest.properties.gamma.description, /diversity/);
    assert.ok(doc.paths["/v1/samples"].post.responses["406"]);
  } finally {
    await close();
  }
});

Deno.test("GET /docs renders the operations and their parameters in headless Chromium, offline", async () => {
  const chromium = await findChromium();
  const { app, close } = await makeApp();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
  const profile = await Deno.makeTempDir({ prefix: "dd-chromium-" });
  try {
    const base = `http://127.0.0.1:${server.addr.port}`;
    const page = await (await fetch(`${base}/docs`)).text();
    assert.doesNotMatch(page, /(src|href)="https?:/, "no external assets");
    const out = await new Deno.Command(chromium, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        `--user-data-dir=${profile}`,
        // Everything but this server (loopback bypasses proxies) goes to a closed port.
        "--proxy-server=http://127.0.0.1:9",
        "--virtual-time-budget=20000",
        "--dump-dom",
        `${base}/docs`,
      ],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(90_000),
    }).output();
    const dom = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr).slice(-2000));
    const doc = await (await fetch(`${base}/openapi.json`)).json();
    const opsInDoc = Object.values(doc.paths as Record<string, object>)
      .reduce((n: number, ops) => n + Object.keys(ops).length, 0);
    const paths = [...dom.matchAll(/class="opblock-summary-path" data-path="([^"]+)"/g)]
      .map((m) => m[1]);
    assert.equal(paths.length, opsInDoc, "every operation is rendered");
    assert.deepEqual([...new Set(paths)].sort(), Object.keys(doc.paths).sort());
    const params = [...dom.matchAll(/class="parameter__name[^"]*">([^<]+)</g)].map((m) => m[1]);
    for (const p of ["prompts", "dtype", "name", "limit", "after", "id", "idempotency-key"]) {
      assert.ok(params.includes(p), `parameter ${p} is visible (saw ${params.join(", ")})`);
    }
    assert.match(dom, /Learned prompts as textual-inversion embeddings/);
    assert.match(dom, /data-name="TrainOptions"/);
  } finally {
    await server.shutdown();
    await close();
    await Deno.remove(profile, { recursive: true });
  }
});

Deno.test("/docs and its assets are open without an API key; other asset names are 404", async () => {
  const { app, close } = await makeApp({ DD_API_KEYS: "k1" });
  try {
    const css = await app.request("/docs/assets/swagger-ui-dist/swagger-ui.css");
    assert.equal(css.status, 200);
    assert.match(css.headers.get("content-type")!, /text\/css/);
    const js = await app.request("/docs/assets/swagger-ui-dist/swagger-ui-bundle.js");
    assert.equal(js.status, 200);
    assert.ok((await js.arrayBuffer()).byteLength > 100_000);
    assert.equal((await app.request("/docs")).status, 200);
    const other = await app.request("/docs/assets/swagger-ui-dist/index.html", {
      headers: { Authorization: "Bearer k1" },
    });
    assert.equal(other.status, 404);
  } finally {
    await close();
  }
});
