/** `deno task demo`: bad arguments are refused before any training. */
import assert from "node:assert/strict";
import { main } from "../../../core/tasks/demo.ts";

Deno.test("demo: an --out that is a directory, or bad numbers, exit 1 before any work", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cases: [string[], RegExp][] = [
      [[`--out=${dir}`], /is a directory; give a PNG file path/],
      [["--steps=0"], /steps/],
      [["--scale=17"], /scale/],
      [["--bogus"], /unknown option/],
    ];
    for (const [args, message] of cases) {
      const err: string[] = [], progress: string[] = [];
      const code = await main(args, {
        err: (l) => err.push(l),
        out: () => {},
        progress: (t) => progress.push(t),
        tty: false,
      });
      assert.equal(code, 1, args.join(" "));
      assert.match(err.join("\n"), message);
      assert.deepEqual(progress, [], "no training progress: refused before any work");
    }
    assert.deepEqual(await Array.fromAsync(Deno.readDir(dir)), [], "nothing written");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
