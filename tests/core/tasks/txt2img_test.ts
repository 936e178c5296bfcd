/** `deno task txt2img`: a prompt in, PNGs out, reproducible by seed; bad arguments fail early. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { listTree, runTaskFile } from "./_run.ts";

Deno.test("txt2img writes n PNGs from a prompt with the model's defaults; same seed, same bytes", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const args = ["--prompt", "a red square", "--n", "2", "--steps", "3", "--seed", "7"];
    const a = await runTaskFile("txt2img.ts", [...args, "--out", join(tmp, "a")]);
    assert.equal(a.code, 0, a.stderr);
    assert.match(
      a.stdout,
      /^wrote 2 images to .*a \(image_000\.png \.\. image_001\.png\): dd-world-tiny, 3 euler_ancestral steps, guidance 3 \(rescale 0\.7\), seed 7\n$/,
    );
    assert.deepEqual(listTree(join(tmp, "a")), ["image_000.png", "image_001.png"]);
    const b = await runTaskFile("txt2img.ts", [...args, "--out", join(tmp, "b"), "--n", "1"]);
    assert.equal(b.code, 0, b.stderr);
    assert.deepEqual(
      await Deno.readFile(join(tmp, "b", "image_000.png")),
      await Deno.readFile(join(tmp, "a", "image_000.png")),
    );
    const png = await Deno.readFile(join(tmp, "a", "image_001.png"));
    assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("txt2img refuses bad arguments with one error line and writes nothing", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const out = join(tmp, "out");
    const ok = ["--prompt", "a red square", "--out", out];
    const cases: [string[], RegExp][] = [
      [["--out", out], /--prompt is required/],
      [["--prompt", "x"], /--out is required/],
      [[...ok, "--steps", "0"], /--steps must be >= 1 and <= 1000, got 0/],
      [[...ok, "--scheduler", "pndm"], /--scheduler must be one of ddim/],
      [[...ok, "--guidance=-1"], /--guidance must be >= 0/],
      [[...ok, "--model", "no-such-model"], /no-such-model/],
    ];
    for (const [args, re] of cases) {
      const r = await runTaskFile("txt2img.ts", args);
      assert.equal(r.code, 1, args.join(" "));
      assert.equal(r.stdout, "");
      assert.match(r.stderr, /^error: [^\n]+\n$/);
      assert.match(r.stderr, re);
    }
    assert.deepEqual(listTree(out), []);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
