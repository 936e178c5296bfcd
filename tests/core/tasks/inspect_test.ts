/**
 * `deno task inspect`: manifest summary, loss sparkline with first/last/min, and the 5
 * nearest vocabulary tokens (cosine) for each of the K x M learned vectors.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadDistribution } from "../../../core/artifacts/distribution_artifact.ts";
import { FsStore } from "../../../core/store/fs_store.ts";
import { nearestTokens, sparkline } from "../../../core/tasks/inspect.ts";
import { runTaskFile, trainTiny } from "./_run.ts";

Deno.test("inspect prints the manifest, the loss curve and 5 nearest tokens per learned vector", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const { store, id } = await trainTiny(tmp);
    const r = await runTaskFile("inspect.ts", [id, "--store", store]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split("\n");
    assert.match(lines[0]!, new RegExp(`^${id}  \\(file://`));
    assert.ok(
      lines.some((l) => /^ {2}model {7}dd-world-tiny @ sha256-[0-9a-f]{16}$/.test(l)),
      r.stdout,
    );
    assert.ok(lines.some((l) => l.includes("K=3 prompts x M=2 vectors; features L=16 x d=64")));
    assert.ok(lines.some((l) => l.includes("references  4 images")));
    const { manifest } = await loadDistribution(new FsStore(store), id);
    const curve = manifest.lossCurve;
    const lossAt = lines.findIndex((l) => l.startsWith("loss "));
    assert.match(lines[lossAt]!, /^loss {8}[▁▂▃▄▅▆▇█]{3}$/);
    const min = Math.min(...curve);
    assert.equal(
      lines[lossAt + 1]!.trim(),
      `3 steps: first ${curve[0]!.toFixed(4)}, last ${curve[2]!.toFixed(4)}, ` +
        `min ${min.toFixed(4)} (step ${curve.indexOf(min) + 1})`,
    );
    const vectors = lines.filter((l) => /^ {2}prompt \d vector \d: /.test(l));
    assert.equal(vectors.length, 3 * 2);
    for (const v of vectors) {
      const tokens = v.split(": ").slice(1).join(": ").split(", ");
      assert.equal(tokens.length, 5, v);
      const sims = tokens.map((t) => Number(t.split(" ").at(-1)));
      assert.ok(sims.every((s, i) => s <= 1 && s >= -1 && (i === 0 || s <= sims[i - 1]!)), v);
    }
    // By folder path, with --top.
    const byPath = await runTaskFile("inspect.ts", [
      join(store, "distributions", id),
      "--top",
      "2",
    ]);
    assert.equal(byPath.code, 0, byPath.stderr);
    assert.ok(byPath.stdout.includes("top 2"));
    // Errors: one line, exit code 1.
    for (
      const [args, re] of [
        [[], /expected one distribution ID or PATH/],
        [[id, id, "--store", store], /expected one distribution ID or PATH/],
        [["dd_nope", "--store", store], /distribution dd_nope not found/],
        [[id, "--store", store, "--top", "0"], /--top must be >= 1/],
      ] as [string[], RegExp][]
    ) {
      const e = await runTaskFile("inspect.ts", args);
      assert.equal(e.code, 1, args.join(" "));
      assert.match(e.stderr, /^error: [^\n]+\n$/);
      assert.match(e.stderr, re);
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("nearestTokens() ranks rows by cosine similarity; sparkline() buckets long curves", () => {
  // Rows: x axis, y axis, the diagonal, and -x.
  const table = Float32Array.from([1, 0, 0, 3, 1, 1, -2, 0]);
  const near = nearestTokens(table, 2, Float32Array.from([2, 1]), 3);
  assert.deepEqual(near.map((n) => n.id), [2, 0, 1]);
  assert.ok(Math.abs(near[0]!.similarity - 3 / Math.sqrt(10)) < 1e-6);
  assert.equal(sparkline([3, 2, 1, 0]), "█▆▃▁");
  assert.equal(sparkline([5, 5]), "▄▄");
  const long = Array.from({ length: 600 }, (_, i) => 600 - i);
  const s = sparkline(long);
  assert.equal([...s].length, 60);
  assert.equal(s[0], "█");
  assert.equal(s.at(-1), "▁");
});
