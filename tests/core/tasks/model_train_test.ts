/** `deno task model:train`: bad arguments fail before anything is written. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runTaskFile } from "./_run.ts";

Deno.test("model:train refuses bad arguments with a clear message and writes nothing", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const out = join(dir, "model");
    const cases: [string[], RegExp][] = [
      [["--schedule", "x0"], /--schedule must be one of v, epsilon/],
      [["--steps", "0"], /--steps must be a positive integer, got 0/],
      [["--lr-end=-1"], /--lr-end must be a non-negative number, got -1/],
      [["--warmup", "1.5"], /--warmup must be a non-negative integer, got 1.5/],
    ];
    for (const [args, message] of cases) {
      await t.step(args.join(" "), async () => {
        const r = await runTaskFile("model_train.ts", ["--out", out, ...args]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, message);
        await assert.rejects(Deno.stat(out), Deno.errors.NotFound);
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
