/**
 * `deno task model:train`: bad arguments fail before anything is written; the default run
 * writes a work folder, never the pinned model; `--promote` is the one way to replace a
 * pinned folder, and re-pins it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readModelsLock, writeModelsLock } from "../../../core/models/lock.ts";
import { workFolder } from "../../../core/tasks/model_train.ts";
import { listTree, runTaskFile, spawnTaskFile } from "./_run.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;
const PINNED = join(ROOT, "core/models/embedded/dd-world-tiny");

/** sha256 of every file of a folder (without dot-files such as session caches). */
async function digest(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const p of listTree(dir).filter((p) => !p.split("/").some((s) => s.startsWith(".")))) {
    const hash = await crypto.subtle.digest("SHA-256", await Deno.readFile(join(dir, p)));
    out[p] = Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, "0")).join("");
  }
  return out;
}

Deno.test("model:train refuses bad arguments with a clear message and writes nothing", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const out = join(dir, "model");
    const cases: [string[], RegExp][] = [
      [["--schedule", "x0"], /--schedule must be one of v, epsilon/],
      [["--steps", "0"], /--steps must be >= 1, got 0/],
      [["--lr-end=-1"], /--lr-end must be >= 0, got -1/],
      [["--warmup", "1.5"], /--warmup expects an integer, got "1.5"/],
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

Deno.test("model:train refuses the pinned folder as --out and points at --promote", async () => {
  const before = await digest(PINNED);
  const r = await runTaskFile("model_train.ts", ["--out", PINNED, "--steps", "1"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^error: --out .* is dd-world-tiny's pinned folder: train into a work/);
  assert.match(r.stderr, /then --promote/);
  assert.deepEqual(await digest(PINNED), before);
});

Deno.test("model:train writes a work folder (pinned model byte-identical); --promote re-pins", async () => {
  assert.equal(workFolder("dd-world-tiny"), ".data/models/dd-world-tiny");
  const before = await digest(PINNED);
  const tmp = await Deno.makeTempDir();
  try {
    // The default --out, as a process run from tmp (as `deno task` from there: INIT_CWD).
    const args = ["--steps", "1", "--batch", "2", "--save-every", "1"];
    const r = await spawnTaskFile("model_train.ts", [...args, "--state", join(tmp, "state")], {
      INIT_CWD: tmp,
    });
    assert.equal(r.code, 0, r.stderr);
    const work = join(tmp, ".data/models/dd-world-tiny");
    assert.match(
      r.stdout,
      /^trained .*: 1 steps .*; promote with: deno task model:train --promote/,
    );
    assert.deepEqual(await digest(PINNED), before, "the pinned model is unchanged");
    assert.ok(listTree(work).includes("unet/diffusion_pytorch_model.safetensors"));

    // --promote into a copy of the pinned folder, pinned in a copy of models.lock.
    const copy = join(tmp, "repo", "pinned");
    await Deno.mkdir(copy, { recursive: true });
    for (const p of Object.keys(before)) {
      await Deno.mkdir(join(copy, p, ".."), { recursive: true });
      await Deno.copyFile(join(PINNED, p), join(copy, p));
    }
    const lockPath = join(tmp, "repo", "models.lock");
    const lock = await readModelsLock(join(ROOT, "models.lock"));
    const entry = lock.models["dd-world-tiny"]!;
    await writeModelsLock(lockPath, {
      version: 1,
      models: { tiny: { ...entry, source: { path: "pinned" } } as typeof entry },
    });
    const p = await runTaskFile("model_train.ts", [
      "--promote",
      "--out",
      work,
      "--name",
      "tiny",
      "--lock",
      lockPath,
    ]);
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, /^pinned tiny \(pinned\): \d+ files/m);
    const promoted = await digest(copy);
    assert.equal(
      promoted["unet/diffusion_pytorch_model.safetensors"],
      (await digest(work))["unet/diffusion_pytorch_model.safetensors"],
    );
    const pinned = (await readModelsLock(lockPath)).models.tiny!;
    assert.ok("files" in pinned);
    assert.equal(
      pinned.files["unet/diffusion_pytorch_model.safetensors"]!.sha256,
      promoted["unet/diffusion_pytorch_model.safetensors"],
    );
    assert.deepEqual(await digest(PINNED), before, "still unchanged");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("model:train --resume on an empty work folder continues from a copy of the pinned model", async () => {
  const before = await digest(PINNED);
  const tmp = await Deno.makeTempDir();
  try {
    const work = join(tmp, "work");
    const r = await runTaskFile("model_train.ts", [
      "--out",
      work,
      "--resume",
      "--steps",
      "1",
      "--batch",
      "2",
      "--save-every",
      "1",
      "--state",
      join(tmp, "state"),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^model:train: starting from a copy of dd-world-tiny \(\d+ files\)/m);
    const log = JSON.parse(await Deno.readTextFile(join(work, "training_log.json")));
    const pinnedLog = JSON.parse(await Deno.readTextFile(join(PINNED, "training_log.json")));
    assert.equal(log.steps, pinnedLog.steps + 1);
    assert.deepEqual(await digest(PINNED), before);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
