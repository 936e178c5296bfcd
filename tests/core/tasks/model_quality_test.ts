/** `deno task model:quality`: bad arguments fail with one error line before any model work. */
import assert from "node:assert/strict";
import { runTaskFile } from "./_run.ts";

Deno.test("model:quality refuses bad arguments with a clear message", async (t) => {
  const cases: [string[], RegExp][] = [
    [["--n", "0"], /--n must be a positive integer, got 0/],
    [["--steps", "x"], /--steps must be a positive integer, got x/],
    [["--seed", "1.5"], /--seed must be a non-negative integer, got 1.5/],
    [["--guidance=-1"], /--guidance must be a number >= 0, got -1/],
    [["--scheduler", "pndm"], /--scheduler must be one of ddim, euler_ancestral/],
    [["--guidance-rescale", "2"], /--guidance-rescale must be a number in \[0, 1\], got 2/],
  ];
  for (const [args, message] of cases) {
    await t.step(args.join(" "), async () => {
      const r = await runTaskFile("model_quality.ts", args);
      assert.equal(r.code, 1);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, "");
    });
  }
});
