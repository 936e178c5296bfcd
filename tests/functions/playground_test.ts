/**
 * The playground (functions/routes/playground.ts, functions/playground/) in a real headless
 * Chromium against the app on 127.0.0.1 with API keys on and the tiny fixture model: no key and
 * a wrong key show the API's 401 message; a non-image file and 21 files show the API's 415 and
 * 400 messages; six references train 4 steps with progress and preview grids over SSE; samples
 * at gamma 0 and 2 differ; a mix of two distributions with weight sliders samples; the
 * textual-inversion export downloads; a distribution is deleted. Each stage is screenshotted
 * (to $DD_PLAYGROUND_SHOTS when set, else a temp dir removed at the end). A missing Chromium
 * fails the test (CI installs it: .ci/run).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Browser } from "../helpers/cdp.ts";
import { pageScratch } from "../helpers/page_scratch.ts";
import { fakeDistribution, makeApp } from "./_helpers.ts";

const KEY = "k1";
const MODEL = "tiny-sd2-fixture";

Deno.test("GET /playground and its assets are open, same-origin only; other paths need the key", async () => {
  const { app, close } = await makeApp({ DD_API_KEYS: KEY });
  try {
    const page = await app.request("/playground");
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type")!, /text\/html/);
    const html = await page.text();
    assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, "no external assets");
    for (
      const [path, type] of [["/playground/app.js", /javascript/], ["/playground/app.css", /css/]]
    ) {
      const r = await app.request(path as string);
      assert.equal(r.status, 200, String(path));
      assert.match(r.headers.get("content-type")!, type as RegExp);
      assert.doesNotMatch(await r.text(), /https?:\/\/(?!127)/, `${path}: no external URL`);
    }
    assert.equal((await app.request("/playground/other.js")).status, 401);
  } finally {
    await close();
  }
});

Deno.test("the in-browser sampler's bundle and onnxruntime-web's files are served, open, from node_modules", async () => {
  const { app, close } = await makeApp({ DD_API_KEYS: KEY });
  try {
    for (
      const [path, type] of [
        ["/playground/in_browser.js", /javascript/],
        ["/playground/sampler.js", /javascript/],
        ["/playground/ort/ort.wasm.bundle.min.mjs", /javascript/],
        ["/playground/ort/ort-wasm-simd-threaded.wasm", /application\/wasm/],
        ["/playground/ort/ort.webgpu.bundle.min.mjs", /javascript/],
        ["/playground/ort/ort-wasm-simd-threaded.asyncify.wasm", /application\/wasm/],
      ] as const
    ) {
      const r = await app.request(path);
      assert.equal(r.status, 200, path);
      assert.match(r.headers.get("content-type")!, type);
      assert.match(r.headers.get("content-security-policy")!, /'wasm-unsafe-eval'/);
      await r.body?.cancel();
    }
    assert.equal((await app.request("/playground/ort/ort.all.min.mjs")).status, 401);
  } finally {
    await close();
  }
});

Deno.test("the playground trains, previews, samples at two gammas, mixes, exports and deletes in headless Chromium", async () => {
  const { app, store, close } = await makeApp({ DD_API_KEYS: KEY });
  await fakeDistribution(store, "dd_other", MODEL);
  const scratch = await pageScratch(21);
  const { files, refs } = scratch;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
  const base = `http://127.0.0.1:${server.addr.port}`;
  const downloads = await Deno.makeTempDir({ prefix: "dd-playground-dl-" });
  let browser: Browser | undefined;
  try {
    const text = join(files, "notes.txt");
    await Deno.writeTextFile(text, "not an image");
    const apiMessage = async (res: Response) => (await res.json()).error.message as string;
    const noKey = await apiMessage(await fetch(`${base}/v1/models`));

    browser = await Browser.launch(1280, 1100);
    const b = browser;
    await b.send("Page.setDownloadBehavior", { behavior: "allow", downloadPath: downloads });
    const shot = async (name: string) => await scratch.save(name, await b.screenshot());
    const errorBox = () =>
      b.until<string>(
        `!document.getElementById("error").hidden && document.getElementById("error").textContent`,
        "the error box",
      );

    // 1. No key, then a wrong key: the API's 401 message, in the page.
    await b.goto(`${base}/playground`);
    assert.ok((await errorBox()).includes(noKey), "no key: the API's message");
    assert.match(await errorBox(), /unauthorized, HTTP 401/);
    await shot("01-no-key");
    await b.type("#key", "wrong");
    await b.click("#connect");
    const wrong = await apiMessage(
      await fetch(`${base}/v1/models`, { headers: { Authorization: "Bearer wrong" } }),
    );
    assert.notEqual(wrong, noKey);
    await b.until(
      `document.getElementById("error").textContent.includes(${JSON.stringify(wrong)})`,
      "the wrong key's message",
    );
    await b.type("#key", KEY);
    await b.click("#connect");
    await b.until(`document.getElementById("error").hidden`, "the error box to clear");
    const models = await b.until<string[]>(
      `[...document.querySelectorAll("#model option")].map((o) => o.value).join() &&
        [...document.querySelectorAll("#model option")].map((o) => o.value)`,
      "the model list",
    );
    assert.deepEqual(models, [MODEL]);
    await b.until(`document.querySelectorAll("#dist-list tr").length === 1`, "the listing");

    // 2. A non-image among the references, then too many files: the API's messages.
    await b.type("#steps", "4");
    await b.type("#k", "3");
    await b.type("#m", "2");
    await b.type("#batch", "2");
    await b.type("#preview-every", "2");
    await b.setFiles("#files", [...refs.slice(0, 5), text]);
    await b.until(`document.querySelectorAll("#refs figure").length === 6`, "6 references shown");
    await b.click("#train-go");
    assert.match(await errorBox(), /unsupported_format, HTTP 415/);
    await shot("02-non-image");
    await b.setFiles("#files", refs);
    await b.click("#train-go");
    await b.until(`document.getElementById("error").textContent.includes("HTTP 400")`, "400");
    assert.match(await errorBox(), /validation_error/);
    const stored = await store.list("distributions/");
    assert.ok(stored.every((k) => k.startsWith("distributions/dd_other")), "nothing trained");

    // 3. Six references, 4 steps, a preview every 2: progress and two preview grids over SSE.
    await b.setFiles("#files", refs.slice(0, 6));
    await b.click("#train-go");
    const done = await b.until<string>(
      `document.getElementById("progress-text").textContent.startsWith("done:") &&
        document.getElementById("progress-text").textContent`,
      "training to finish",
      120_000,
    );
    assert.equal(await b.eval(`document.getElementById("error").hidden`), true);
    const id = done.slice("done: ".length);
    assert.match(id, /^dd_/);
    assert.equal(await b.eval(`document.querySelectorAll("#previews img").length`), 2);
    assert.equal(await b.eval(`document.getElementById("progress").value`), 1);
    await b.until(`document.querySelectorAll("#dist-list tr").length === 2`, "the new listing");
    await shot("03-trained");

    // 4. The new distribution (ticked after training) at gamma 0 and gamma 2, same seed.
    const sampleAt = async (gamma: string, expect: string) => {
      await b.type("#gamma", gamma);
      await b.click("#sample-go");
      await b.until(
        `document.getElementById("sample-status").textContent.startsWith(${
          JSON.stringify(expect)
        })`,
        `samples (${expect})`,
        60_000,
      );
      return await b.eval<string[]>(
        `[...document.querySelectorAll("#samples img")].map((i) => i.src)`,
      );
    };
    await b.type("#n", "2");
    await b.type("#sample-steps", "3");
    await b.type("#seed", "7");
    const g0 = await sampleAt("0", "gamma 0.00 · seed 7");
    await shot("04-gamma-0");
    const g2 = await sampleAt("2", "gamma 2.00 · seed 7");
    await shot("05-gamma-2");
    assert.equal(g0.length, 2);
    assert.equal(g2.length, 2);
    assert.ok(g0.every((s) => s.startsWith("data:image/png;base64,")));
    assert.notDeepEqual(g0, g2, "gamma changes the samples");
    assert.equal(
      await b.eval(`document.querySelector("#samples a").download`),
      "sample-g2-seed7-0.png",
    );

    // 5. A mix of the two with weight sliders, and a template.
    await b.click(`#dist-list tr[data-id="dd_other"] input[type=checkbox]`);
    await b.until(`document.querySelectorAll("#weights input").length === 2`, "2 sliders");
    await b.type(`#weights input[data-id="dd_other"]`, "0.25");
    await b.type("#template", "a photo of {}");
    await sampleAt("1", "gamma 1.00 · seed 7 · mix of 2");
    assert.equal(await b.eval(`document.getElementById("error").hidden`), true);
    await shot("06-mix");

    // 6. Textual-inversion export: K = 3 prompts, a zip, downloaded by the page.
    await b.click(`#dist-list tr[data-id="${id}"] button`);
    const saved = await waitForFile(downloads, /\.zip$/);
    const bytes = await Deno.readFile(join(downloads, saved));
    assert.equal(bytes[0], 0x50, "a zip (PK)");
    assert.equal(bytes[1], 0x4b);

    // 7. Delete the other one.
    await b.click(`#dist-list tr[data-id="dd_other"] button:last-child`);
    await b.until(`document.querySelectorAll("#dist-list tr").length === 1`, "the deletion");
    assert.equal((await store.list("distributions/dd_other")).length, 0);
    assert.equal(await b.eval(`document.querySelectorAll("#weights input").length`), 0);
    await shot("07-deleted");
    assert.deepEqual(browser.pageErrors, [], "no uncaught error in the page");
  } catch (e) {
    if (browser) console.error(browser.log().slice(-2000));
    throw e;
  } finally {
    await browser?.close();
    await server.shutdown();
    await close();
    await Deno.remove(downloads, { recursive: true });
    await scratch.cleanup();
  }
});

/** Waits (at most 30 s) for a finished file named like `pattern` in `dir`. */
async function waitForFile(dir: string, pattern: RegExp): Promise<string> {
  const end = Date.now() + 30_000;
  for (;;) {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && pattern.test(e.name)) return e.name;
    }
    if (Date.now() > end) throw new Error(`no download matching ${pattern} in ${dir}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
