/** A smoke run of `deno task eval` (tiny settings, random test model): it runs and reports. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { main } from "../../../core/tasks/eval.ts";

Deno.test("eval writes the method table and the gamma sweep (smoke run on the test model)", async () => {
  const out = await Deno.makeTempDir();
  const code = await main([
    "--model=tiny-sd2-fixture",
    "--seeds=0",
    "--concepts=cool-squares",
    "--n=4",
    "--train-steps=2",
    "--k=3",
    "--steps=2",
    `--out=${out}`,
  ]);
  assert.equal(code, 0);
  const report = await Deno.readTextFile(join(out, "eval.md"));
  for (const m of ["DreamDistribution", "Textual Inversion", "short caption", "own captions"]) {
    assert.match(report, new RegExp(`\\| ${m} \\| cool-squares \\| [0-9.]+ ± [0-9.]+ \\|`));
  }
  assert.equal(report.split("\n").filter((l) => l.startsWith("| cool-squares |")).length, 5);
  await Deno.remove(out, { recursive: true });
});
