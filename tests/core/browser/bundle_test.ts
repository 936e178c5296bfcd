/**
 * functions/playground/sampler.js is the bundle of core/browser/mod.ts, committed so that the
 * server and a fresh clone need no build step: this test bundles again (`deno task
 * playground:bundle`'s command, to a temp file) and fails when the committed file differs.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { main } from "../../../core/tasks/playground_bundle.ts";

Deno.test("functions/playground/sampler.js is the current bundle of core/browser (deno task playground:bundle)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dd-bundle-" });
  try {
    const out = join(dir, "sampler.js");
    let err = "";
    const code = await main(["--out", out], { out: () => {}, err: (l) => (err += l) });
    assert.equal(code, 0, err);
    const fresh = await Deno.readFile(out);
    const committed = await Deno.readFile("functions/playground/sampler.js");
    assert.ok(
      fresh.length === committed.length && fresh.every((b, i) => b === committed[i]),
      "functions/playground/sampler.js is stale: run `deno task playground:bundle` and commit it",
    );
    const text = new TextDecoder().decode(fresh);
    assert.doesNotMatch(text, /from\s*"(node:|npm:|onnxruntime)/, "nothing the browser lacks");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
