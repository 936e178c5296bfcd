/**
 * `deno task export-embeddings`: c_tilde [n, 16, 64] and uncond [1, 16, 64] as safetensors;
 * gamma 0 gives mu in every row; bad arguments are one error line, exit code 1, no file.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadDistribution } from "../../../core/artifacts/distribution_artifact.ts";
import { readSafetensors } from "../../../core/artifacts/safetensors_write.ts";
import { FsStore } from "../../../core/store/fs_store.ts";
import { listTree, runTaskFile, trainTiny } from "./_run.ts";

Deno.test("export-embeddings writes c_tilde [n,16,64] and uncond [1,16,64]; gamma 0 gives mu", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const { store, id } = await trainTiny(tmp);
    const file = join(tmp, "emb", "features.safetensors");
    const r = await runTaskFile("export_embeddings.ts", [
      "--dist",
      id,
      "--store",
      store,
      "--n",
      "2",
      "--out",
      file,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^wrote .*features\.safetensors: c_tilde \[2, 16, 64\], uncond \[1, 16, 64\]/,
    );
    const t = readSafetensors(await Deno.readFile(file)).tensors;
    assert.deepEqual(t.get("c_tilde")!.shape, [2, 16, 64]);
    assert.deepEqual(t.get("uncond")!.shape, [1, 16, 64]);
    const c = t.get("c_tilde")!.data, row = 16 * 64;
    assert.notDeepEqual(c.subarray(0, row), c.subarray(row));

    const zero = join(tmp, "zero.safetensors");
    const z = await runTaskFile("export_embeddings.ts", [
      "--dist",
      join(store, "distributions", id),
      "--n",
      "3",
      "--gamma",
      "0",
      "--out",
      zero,
    ]);
    assert.equal(z.code, 0, z.stderr);
    const { tensors } = await loadDistribution(new FsStore(store), id);
    const c0 = readSafetensors(await Deno.readFile(zero)).tensors.get("c_tilde")!;
    assert.deepEqual(c0.shape, [3, 16, 64]);
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(c0.data.subarray(i * row, (i + 1) * row), tensors.mu.data);
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("export-embeddings refuses bad arguments with one error line, exit code 1, no file", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const { store, id } = await trainTiny(tmp);
    const before = listTree(store);
    const out = join(tmp, "out", "f.safetensors");
    const ok = ["--dist", id, "--store", store, "--out", out];
    const cases: [string[], RegExp][] = [
      [["--dist", id, "--store", store], /--out is required/],
      [["--dist", id, "--store", store, "--out", join(tmp, "f.bin")], /\.safetensors file/],
      [[...ok, "--n", "0"], /--n must be >= 1/],
      [[...ok, "--seed", "x"], /--seed expects an integer/],
      [[...ok, "--prompt", "no marker"], /--prompt: template/],
      [[...ok, "--steps", "3"], /unknown option --steps/],
      [["--dist", "dd_nope", "--store", store, "--out", out], /distribution dd_nope not found/],
      [["--mix", `${id}:0.7,${id}:0.7`, "--store", store, "--out", out], /sum to 1/],
    ];
    for (const [args, re] of cases) {
      const r = await runTaskFile("export_embeddings.ts", args);
      const what = args.join(" ");
      assert.equal(r.code, 1, `${what}: ${r.stderr}`);
      assert.match(r.stderr, /^error: [^\n]+\n$/, what);
      assert.match(r.stderr, re, what);
    }
    assert.deepEqual(listTree(store), before);
    assert.deepEqual(listTree(join(tmp, "out")), []);
    const help = await runTaskFile("export_embeddings.ts", ["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--n N\s+number of images \/ samples \(default: 4\)/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
