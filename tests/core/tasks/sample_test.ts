/**
 * `deno task sample`: PNGs and a grid of the right size from an id, a folder, a mix and an
 * edit template; every bad argument is one error line, exit code 1, nothing written.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { decodeImage } from "../../../core/images/decode.ts";
import { gridColumns } from "../../../core/tasks/sample.ts";
import { listTree, runTaskFile, trainTiny } from "./_run.ts";

const FAST = ["--n", "2", "--steps", "2"];

async function size(path: string): Promise<[number, number]> {
  const img = await decodeImage(await Deno.readFile(path));
  return [img.width, img.height];
}

Deno.test("sample writes one PNG per image and a grid of the right size (id, folder, mix, edit)", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const { store, id } = await trainTiny(tmp);
    const out = join(tmp, "out"), grid = join(tmp, "grid.png");
    const r = await runTaskFile("sample.ts", [
      "--dist",
      id,
      "--store",
      store,
      ...FAST,
      "--seed",
      "1",
      "--out",
      out,
      "--grid",
      grid,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^wrote 2 images to .*out \(sample_000\.png \.\. sample_001\.png\) and grid .*grid\.png \(70x36\)\n$/,
    );
    assert.match(r.stderr, /sample \[##########\] 2\/2/);
    assert.deepEqual(listTree(out), ["sample_000.png", "sample_001.png"]);
    assert.deepEqual(await size(join(out, "sample_000.png")), [32, 32]);
    // Two 32x32 tiles side by side with 2-pixel padding.
    assert.deepEqual(await size(grid), [2 * 32 + 3 * 2, 32 + 2 * 2]);
    const first = await Deno.readFile(join(out, "sample_000.png"));
    assert.notDeepEqual(first, await Deno.readFile(join(out, "sample_001.png")));

    // A distribution folder by path, an edit template, another scheduler, five images.
    const folder = join(store, "distributions", id);
    const grid5 = join(tmp, "grid5.png");
    const edit = await runTaskFile("sample.ts", [
      "--dist",
      folder,
      "--n",
      "5",
      "--steps",
      "2",
      "--prompt",
      "{} on the beach",
      "--scheduler",
      "euler_ancestral",
      "--grid",
      grid5,
    ]);
    assert.equal(edit.code, 0, edit.stderr);
    assert.equal(gridColumns(5), 3);
    assert.deepEqual(await size(grid5), [3 * 32 + 4 * 2, 2 * 32 + 3 * 2]);

    // A mix (the same distribution twice: weights (0.5, 0.5)) with the same seed.
    const mixOut = join(tmp, "mix");
    const mix = await runTaskFile("sample.ts", [
      "--mix",
      `${id}:0.5,${folder}:0.5`,
      "--store",
      store,
      ...FAST,
      "--seed",
      "1",
      "--out",
      mixOut,
      "--mix-mode",
      "rms",
    ]);
    assert.equal(mix.code, 0, mix.stderr);
    assert.deepEqual(listTree(mixOut), ["sample_000.png", "sample_001.png"]);
    // Re-running the first command gives the same bytes (seeded).
    const again = join(tmp, "again");
    const r2 = await runTaskFile("sample.ts", [
      "--dist",
      id,
      "--store",
      store,
      ...FAST,
      "--seed",
      "1",
      "--out",
      again,
    ]);
    assert.equal(r2.code, 0, r2.stderr);
    assert.deepEqual(await Deno.readFile(join(again, "sample_000.png")), first);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("sample refuses bad arguments with one error line, exit code 1, nothing written", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const { store, id } = await trainTiny(tmp);
    const before = listTree(store);
    const out = join(tmp, "out");
    const ok = ["--dist", id, "--store", store, ...FAST, "--out", out];
    const cases: [string[], RegExp][] = [
      [[...ok, "--bogus"], /unknown option --bogus/],
      [["--store", store, "--out", out], /--dist or --mix is required/],
      [[...ok, "--mix", `${id}:1`], /--dist or --mix, not both/],
      [[...ok, "--n", "0"], /--n must be >= 1/],
      [[...ok, "--n", "two"], /--n expects an integer, got "two"/],
      [[...ok, "--steps", "1.5"], /--steps expects an integer/],
      [[...ok, "--guidance", "x"], /--guidance expects a number/],
      [[...ok, "--guidance-rescale", "1.5"], /--guidance-rescale must be >= 0 and <= 1/],
      [[...ok, "--sampler", "gaussian"], /--sampler must be one of diagonal, low_rank, mixture/],
      [[...ok, "--gamma=-1"], /--gamma must be >= 0, got -1/],
      [[...ok, "--gamma", "-1"], /option --gamma needs a value; write --gamma=-X/],
      [[...ok, "--prompt", "on the beach"], /--prompt: template must contain exactly one \{\}/],
      [
        [...ok, "--scheduler", "plms"],
        /--scheduler must be one of ddim, euler_ancestral, dpm_solver_pp_2m/,
      ],
      [["--dist", id, "--store", store], /give --out DIR and\/or --grid FILE\.png/],
      [
        ["--dist", id, "--store", store, "--grid", join(tmp, "g.jpg")],
        /--grid must name a \.png file/,
      ],
      [
        ["--mix", `${id}:0.3,${id}:0.3`, "--store", store, "--out", out],
        /--mix weights must sum to 1, got 0\.6/,
      ],
      [["--mix", `${id}`, "--store", store, "--out", out], /expected ID:WEIGHT/],
      [
        ["--mix", `${id}:0.5,${id}:0.5`, "--mix-mode", "max", "--store", store, "--out", out],
        /--mix-mode/,
      ],
      [
        ["--dist", "dd_missing", "--store", store, "--out", out],
        /distribution dd_missing not found/,
      ],
      [["--dist", "Bad_Id", "--store", store, "--out", out], /invalid distribution id "Bad_Id"/],
      [["--dist", join(tmp, "nope"), "--store", store, "--out", out], /folder not found/],
    ];
    for (const [args, re] of cases) {
      const r = await runTaskFile("sample.ts", args);
      const what = args.join(" ");
      assert.equal(r.code, 1, `${what}: ${r.stderr}`);
      assert.match(r.stderr, /^error: [^\n]+\n$/, what);
      assert.match(r.stderr, re, what);
    }
    assert.deepEqual(listTree(store), before);
    assert.deepEqual(listTree(out), []);
    const help = await runTaskFile("sample.ts", ["--help"]);
    assert.equal(help.code, 0);
    for (const flag of ["--dist", "--mix", "--n", "--gamma", "--prompt", "--negative", "--steps"]) {
      assert.ok(help.stdout.includes(flag), flag);
    }
    assert.match(help.stdout, /--steps N\s+denoising steps \(default: 25\)/);
    assert.match(
      help.stdout,
      /--guidance X\s+classifier-free guidance scale \(default: the model's; 7\.5 for Stable\s+Diffusion\)/,
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
