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
import { encodePng } from "../../../core/images/encode.ts";
import { ProgressBar } from "../../../core/tasks/_progress.ts";
import { listTree, runTaskFile, spawnTaskFile, TINY, trainTiny, writeDiscPngs } from "./_run.ts";

Deno.test("train learns from a folder of PNGs into a store; only the id on stdout, the rest on stderr", async () => {
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
    const id = /^(dd_[a-z0-9]+)\n$/.exec(r.stdout)?.[1];
    assert.ok(id, r.stdout);
    const m = /^(dd_[a-z0-9]+) in (file:\/\/\S+): final loss (\d+\.\d+), 3 steps, \d+\.\ds$/m
      .exec(r.stderr);
    assert.ok(m, r.stderr);
    assert.equal(m[1], id);
    assert.equal(m[2], `file://${store}`);
    // The expected duration comes before training, from the model's measured step time.
    assert.match(r.stderr, /^train: expected duration about \d+s \(dd-world-tiny: [\d.]+ s\/step/m);
    assert.ok(r.stderr.indexOf("expected duration") < r.stderr.indexOf("train ["));
    assert.ok(!r.stderr.includes("warning"), "discs on dark blue are in the domain");
    // Not a terminal: one progress line per ~10%, ending with the full bar.
    assert.match(r.stderr, /train \[##########\] 3\/3 loss \d\.\d{3} [\d.]+ it\/s ETA 0s\n/);
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
    objective: "paper",
    "train-sampler": "diagonal",
    "best-prompt-weight": "1",
    "best-prompt-temperature": "0.5",
    "best-prompt-refresh": "25",
    "sample-softmin": "0",
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
  // The embedded model's own defaults and quick settings are named.
  assert.match(
    r.stdout,
    /dd-world-tiny's own defaults: --k 16 --m 4 --s 2 --batch-size 4 --steps 200/,
  );
  assert.match(r.stdout, /Quick settings:/);
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
    const id = (r: { stdout: string }) => r.stdout.trim();
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

Deno.test("train as a process: ID=$(deno task train ...) gets the id alone; a bad flag exits 1", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const images = await writeDiscPngs(tmp, 4);
    const env = { DD_CACHE_DIR: join(tmp, "cache") };
    const ok = await spawnTaskFile("train.ts", [
      "--images",
      images,
      "--out",
      join(tmp, "store"),
      ...TINY,
    ], env);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^dd_[a-z0-9]+\n$/);
    assert.match(ok.stderr, /final loss/);
    const bad = await spawnTaskFile("train.ts", ["--images", images, "--bogus"], env);
    assert.equal(bad.code, 1);
    assert.equal(bad.stdout, "");
    assert.equal(bad.stderr, "error: unknown option --bogus (see --help)\n");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("train takes absent options from the model's _dd_train_defaults, flags win", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const images = await writeDiscPngs(tmp, 4), store = join(tmp, "store");
    const r = await runTaskFile(
      "train.ts",
      ["--images", images, "--out", store, "--steps", "1", "--m", "1"],
      { DD_CACHE_DIR: join(tmp, "cache") },
    );
    assert.equal(r.code, 0, r.stderr);
    const { manifest } = await loadDistribution(new FsStore(store), r.stdout.trim());
    // dd-world-tiny's defaults: K 16, S 2, batch 4, lr 5e-3 (steps and M from the flags).
    assert.deepEqual(
      [manifest.K, manifest.M, manifest.options.S, manifest.options.batchSize],
      [16, 1, 2, 4],
    );
    assert.equal(manifest.options.lr, 0.005);
    assert.match(r.stderr, /^train: 4 images, distribution K=16 M=1 S=2 batch 4, 1 steps/m);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("train warns on stderr when the references look outside the model's domain", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    // Green squares on white: dd-world-tiny knows only dark or grey backgrounds.
    const dir = join(tmp, "white");
    await Deno.mkdir(dir);
    for (let i = 0; i < 4; i++) {
      const data = new Uint8Array(32 * 32 * 3).fill(250);
      for (let y = 8 + i; y < 20 + i; y++) {
        for (let x = 8; x < 20; x++) data.set([40, 190, 60], (y * 32 + x) * 3);
      }
      await Deno.writeFile(join(dir, `w${i}.png`), encodePng({ width: 32, height: 32, data }));
    }
    const env = { DD_CACHE_DIR: join(tmp, "cache") };
    const args = ["--out", join(tmp, "store"), ...TINY, "--steps", "1"];
    const white = await runTaskFile("train.ts", ["--images", dir, ...args], env);
    assert.equal(white.code, 0, white.stderr);
    assert.match(
      white.stderr,
      /^warning: 4 of 4 references look outside dd-world-tiny's domain \(e\.g\. background rgb\(250,250,250\)/m,
    );
    // The warning comes before training starts (in-domain discs: none, see the first test).
    assert.ok(white.stderr.indexOf("warning") < white.stderr.indexOf("train ["));
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

Deno.test("train --preview-every N writes a preview grid every N steps; a bad N is refused", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const images = await writeDiscPngs(tmp, 3);
    const previews = join(tmp, "previews");
    const env = { DD_CACHE_DIR: join(tmp, "cache") };
    const base = ["--images", images, "--out", join(tmp, "store"), ...TINY, "--steps", "4"];
    const r = await runTaskFile("train.ts", [
      ...base,
      "--preview-every",
      "2",
      "--preview-dir",
      previews,
    ], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^dd_[a-z0-9]+\n$/, "previews do not change stdout");
    const files = [...Deno.readDirSync(previews)].map((e) => e.name).sort();
    assert.deepEqual(files, ["preview-step-000002.png", "preview-step-000004.png"]);
    const png = await Deno.readFile(join(previews, files[0]!));
    assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47], "a PNG");
    const bad = await runTaskFile("train.ts", [...base, "--preview-every", "0"], env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^error: .*--preview-every/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
