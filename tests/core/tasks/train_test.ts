/**
 * `deno task train`: trains on a folder of PNGs into a store and prints the id; every bad
 * argument is one error line with exit code 1 and leaves the store unchanged; checkpoints
 * resume bit for bit; the progress bar's two modes.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadDistribution } from "../../../core/artifacts/distribution_artifact.ts";
import { TrainOptionsSchema } from "../../../core/distribution/train_options.ts";
import { FsStore } from "../../../core/store/fs_store.ts";
import { ProgressBar } from "../../../core/tasks/_progress.ts";
import { listTree, runTaskFile, TINY, trainTiny, writeDiscPngs } from "./_run.ts";

Deno.test("train learns from a folder of PNGs into a store and prints the id, store URL, loss and time", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const images = await writeDiscPngs(tmp, 4);
    const store = join(tmp, "store");
    const r = await runTaskFile(
      "train.ts",
      ["--images", images, "--out", `file://${store}`, ...TINY, "--lambda", "0.01", "--flip"],
      { DD_CACHE_DIR: join(tmp, "cache") },
    );
    assert.equal(r.code, 0, r.stderr);
    const m = /^(dd_[a-z0-9]+) in (file:\/\/\S+): final loss (\d+\.\d+), 3 steps, \d+\.\ds\n$/
      .exec(r.stdout);
    assert.ok(m, r.stdout);
    assert.equal(m[2], `file://${store}`);
    // Not a terminal: one progress line per ~10%, ending with the full bar.
    assert.match(r.stderr, /train \[##########\] 3\/3 loss \d\.\d{3} [\d.]+ it\/s ETA 0s\n$/);
    assert.ok(!r.stderr.includes("\r"));
    const { manifest, tensors } = await loadDistribution(new FsStore(store), m[1]!);
    assert.equal(manifest.model.name, "dd-world-tiny");
    assert.match(manifest.model.revision, /^sha256-[0-9a-f]{16}$/);
    assert.equal(manifest.references.length, 4);
    assert.equal(manifest.lossCurve.length, 3);
    assert.equal(manifest.lossCurve.at(-1)!.toFixed(4), m[3]);
    assert.deepEqual([manifest.K, manifest.M, manifest.L, manifest.d], [3, 2, 16, 64]);
    assert.equal(manifest.options.lambda, 0.01);
    assert.equal(manifest.options.flip, true);
    assert.deepEqual(tensors.ctx.shape, [3, 2, 64]);
    assert.deepEqual(listTree(store), [
      `distributions/${m[1]}/manifest.json`,
      `distributions/${m[1]}/prompts.safetensors`,
    ]);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("train --help lists every training option with its default", async () => {
  const r = await runTaskFile("train.ts", ["--help"]);
  assert.equal(r.code, 0);
  const flags = {
    mode: "distribution",
    k: "32",
    m: "4",
    s: "4",
    "batch-size": "4",
    steps: "1500",
    lr: "0.001",
    "weight-decay": "0.01",
    "max-grad-norm": "1",
    lambda: "0.005; 0.001 with --ortho pooled",
    ortho: "paper",
    omega: "shared",
    objective: "best_prompt",
    "best-prompt-weight": "1",
    "best-prompt-temperature": "0.5",
    "best-prompt-refresh": "25",
    sigma: "unbiased",
    "min-snr-gamma": "off",
    "init-std": "0.02",
    "init-words": "none",
    template: "{}",
    flip: "off",
    seed: "0",
    "checkpoint-every": "0",
  };
  assert.equal(Object.keys(flags).length, Object.keys(TrainOptionsSchema.shape).length);
  // One entry per option: its line plus wrapped continuation lines.
  const entries = r.stdout.split(/\n(?=\s+-)/).map((e) => e.replace(/\s+/g, " ").trim());
  for (const [flag, def] of Object.entries(flags)) {
    const entry = entries.find((e) => e.startsWith(`--${flag} `)) ?? "";
    assert.ok(entry.endsWith(`(default: ${def})`) || entry.endsWith(`(default: "${def}")`), entry);
  }
  for (const flag of ["--model", "--images", "--out", "--cache-dir", "--resume"]) {
    assert.ok(r.stdout.includes(flag), flag);
  }
});

Deno.test("train refuses bad arguments with one error line, exit code 1, and an unchanged store", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const { store, cache } = await trainTiny(tmp);
    const before = listTree(store);
    const images = join(tmp, "images");
    const empty = join(tmp, "empty");
    await Deno.mkdir(empty);
    await Deno.writeTextFile(join(empty, "notes.txt"), "not an image");
    const broken = join(tmp, "broken");
    await Deno.mkdir(broken);
    await Deno.copyFile(join(images, "ref0.png"), join(broken, "a.png"));
    await Deno.writeFile(join(broken, "b.png"), new TextEncoder().encode("not a png at all"));
    const ok = ["--images", images, "--out", store, ...TINY];
    const cases: [string[], RegExp][] = [
      [[...ok, "--bogus"], /unknown option --bogus/],
      [["--out", store], /--images is required/],
      [[...ok, "--k", "abc"], /--k expects an integer, got "abc"/],
      [[...ok, "--lr", "1e-3x"], /--lr expects a number/],
      [[...ok, "--k", "1"], /invalid --k: a distribution needs K >= 2/],
      [[...ok, "--m", "0"], /invalid --m/],
      [[...ok, "--steps", "0"], /invalid --steps/],
      [[...ok, "--mode", "lora"], /--mode must be one of distribution, textual_inversion/],
      [[...ok, "--min-snr-gamma", "x"], /--min-snr-gamma expects a number/],
      [[...ok, "--template", "a photo"], /template/],
      [[...ok, "--model", "no-such-model"], /model "no-such-model" is not in models.lock/],
      [["--images", join(tmp, "nope"), "--out", store], /images directory not found/],
      [["--images", empty, "--out", store], /no images \(\.png .jpg .jpeg .webp\) in/],
      [["--images", broken, "--out", store, ...TINY], /image b\.png/],
      [[...ok, "--resume", join(tmp, "none.json")], /cannot read checkpoint/],
      [[...ok, "--out", "ftp://host/x"], /unsupported scheme/],
    ];
    for (const [args, re] of cases) {
      const r = await runTaskFile("train.ts", args, { DD_CACHE_DIR: cache });
      const what = args.slice(-2).join(" ");
      assert.equal(r.code, 1, `${what}: ${r.stderr}`);
      assert.equal(r.stdout, "", what);
      assert.match(r.stderr, /^error: [^\n]+\n$/, what);
      assert.match(r.stderr, re, what);
    }
    assert.deepEqual(listTree(store), before);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("train --checkpoint-every then --resume continues the run bit for bit", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const images = await writeDiscPngs(tmp, 3);
    const store = join(tmp, "store"), ckpt = join(tmp, "ckpt.json");
    const env = { DD_CACHE_DIR: join(tmp, "cache") };
    const base = ["--images", images, "--out", store, ...TINY, "--seed", "4"];
    const full = await runTaskFile("train.ts", [
      ...base,
      "--checkpoint-every",
      "2",
      "--checkpoint",
      ckpt,
    ], env);
    assert.equal(full.code, 0, full.stderr);
    assert.equal(JSON.parse(await Deno.readTextFile(ckpt)).step, 2);
    const resumed = await runTaskFile("train.ts", [...base, "--resume", ckpt], env);
    assert.equal(resumed.code, 0, resumed.stderr);
    const id = (r: { stdout: string }) => r.stdout.split(" ")[0]!;
    const s = new FsStore(store);
    const a = await loadDistribution(s, id(full)), b = await loadDistribution(s, id(resumed));
    assert.deepEqual(b.manifest.lossCurve, a.manifest.lossCurve);
    assert.deepEqual(b.tensors.ctx.data, a.tensors.ctx.data);
    // A checkpoint made with other options is refused.
    const other = await runTaskFile("train.ts", [...base, "--k", "4", "--resume", ckpt], env);
    assert.equal(other.code, 1);
    assert.match(other.stderr, /^error: checkpoint .* was made with K=3, this run has 4\n$/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("ProgressBar redraws with \\r on a terminal and prints ~10% lines otherwise", () => {
  let t = 0;
  const now = () => t;
  const tty: string[] = [], log: string[] = [];
  const a = new ProgressBar({
    total: 50,
    label: "train",
    tty: true,
    write: (s) => tty.push(s),
    now,
  });
  const b = new ProgressBar({ total: 50, tty: false, write: (s) => log.push(s), now });
  for (let i = 1; i <= 50; i++) {
    t = i * 250;
    a.update(i, { loss: 0.4134 });
    b.update(i);
  }
  a.finish();
  b.finish();
  assert.equal(tty.length, 51);
  assert.ok(tty.slice(0, 50).every((s) => s.startsWith("\rtrain [")));
  assert.equal(tty.at(-1), "\n");
  assert.equal(tty[11], "\rtrain [##........] 12/50 loss 0.413 4.0 it/s ETA 10s\x1b[K");
  assert.equal(log.length, 11);
  assert.equal(log[0], "[..........] 1/50 4.0 it/s ETA 12s\n");
  assert.equal(log.at(-1), "[##########] 50/50 4.0 it/s ETA 0s\n");
});
