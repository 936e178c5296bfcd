/** `deno task model:quality`: bad arguments fail with one error line before any model work. */
import assert from "node:assert/strict";
import { runTaskFile } from "./_run.ts";

Deno.test("model:quality refuses bad arguments with a clear message", async (t) => {
  const cases: [string[], RegExp][] = [
    // The sampling options are read as sample's and txt2img's are (_sampling_args.ts).
    [["--n", "0"], /--n must be >= 1, got 0/],
    [["--steps", "x"], /--steps expects an integer, got "x"/],
    [["--steps", "0"], /--steps must be >= 1 and <= 1000, got 0/],
    [["--seed", "1.5"], /--seed expects an integer, got "1.5"/],
    [["--guidance=-1"], /--guidance must be >= 0, got -1/],
    [["--scheduler", "pndm"], /--scheduler must be one of ddim, euler_ancestral/],
    [["--guidance-rescale", "2"], /--guidance-rescale must be >= 0 and <= 1, got 2/],
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
