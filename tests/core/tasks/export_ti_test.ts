/**
 * `deno task export-ti`: one emb_params [M, d] safetensors per selected prompt in --out, from
 * an id in --store or a distribution folder; bad selections are one error line, no file.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  newDistributionId,
  saveDistribution,
} from "../../../core/artifacts/distribution_artifact.ts";
import { readSafetensors } from "../../../core/artifacts/safetensors_write.ts";
import { FsStore } from "../../../core/store/fs_store.ts";
import { main } from "../../../core/tasks/export_ti.ts";
import { listTree } from "./_run.ts";

const [K, M, L, d] = [3, 2, 4, 8];

async function saved(root: string) {
  const store = new FsStore(root);
  const ctx = new Float32Array(K * M * d).map((_, i) => i / 10);
  const m = await saveDistribution(store, {
    id: newDistributionId(),
    createdAt: new Date().toISOString(),
    model: { name: "dd-world-tiny", revision: "r1" },
    K,
    M,
    L,
    d,
    template: { prefix: "", suffix: "" },
    options: {},
    references: [],
    lossCurve: [1],
  }, {
    ctx: { data: ctx, shape: [K, M, d] },
    mu: { data: new Float32Array(L * d), shape: [L, d] },
    sigma: { data: new Float32Array(L * d), shape: [L, d] },
  });
  return { id: m.id, ctx };
}

/** Runs main with stdout and stderr captured. */
async function run(args: string[]) {
  const out: string[] = [], err: string[] = [];
  const [log, error] = [console.log, console.error];
  console.log = (...a: unknown[]) => void out.push(a.join(" "));
  console.error = (...a: unknown[]) => void err.push(a.join(" "));
  try {
    return { code: await main(args), stdout: out.join("\n"), stderr: err.join("\n") };
  } finally {
    [console.log, console.error] = [log, error];
  }
}

Deno.test("export-ti writes one emb_params [M, d] file per prompt, paths on stdout", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const store = join(tmp, "store");
    const { id, ctx } = await saved(store);
    const out = join(tmp, "embeddings");
    const r = await run(["--dist", id, "--store", store, "--out", out]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(listTree(out), [0, 1, 2].map((k) => `${id}-k${k}.safetensors`));
    assert.deepEqual(
      r.stdout.split("\n"),
      [0, 1, 2].map((k) => join(out, `${id}-k${k}.safetensors`)),
    );
    assert.match(r.stderr, /wrote 3 of 3 prompts as emb_params \[2, 8\] \(float32/);
    const t = readSafetensors(await Deno.readFile(join(out, `${id}-k1.safetensors`))).tensors;
    assert.deepEqual([...t.keys()], ["emb_params"]);
    assert.deepEqual(t.get("emb_params")!.shape, [M, d]);
    assert.deepEqual(t.get("emb_params")!.data, ctx.subarray(M * d, 2 * M * d));

    // A folder, a subset, fp16, a name.
    const sub = join(tmp, "sub");
    const f = await run([
      "--dist",
      join(store, "distributions", id),
      "--prompts",
      "2,0",
      "--fp16",
      "--name",
      "discs",
      "--out",
      sub,
    ]);
    assert.equal(f.code, 0, f.stderr);
    assert.deepEqual(listTree(sub), ["discs-k0.safetensors", "discs-k2.safetensors"]);
    const bytes = await Deno.readFile(join(sub, "discs-k2.safetensors"));
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    assert.deepEqual(header.emb_params, {
      dtype: "F16",
      shape: [M, d],
      data_offsets: [0, M * d * 2],
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("export-ti refuses bad arguments with one error line and writes nothing", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const store = join(tmp, "store");
    const { id } = await saved(store);
    const out = join(tmp, "out");
    const ok = ["--dist", id, "--store", store, "--out", out];
    const cases: [string[], RegExp][] = [
      [["--dist", id, "--store", store], /--out is required/],
      [["--store", store, "--out", out], /--dist is required/],
      [[...ok, "--prompts", "3"], /prompt 3 is out of range: this distribution has K = 3/],
      [[...ok, "--prompts", "1,x"], /--prompts expects an integer/],
      [[...ok, "--prompts", "1,1"], /twice/],
      [[...ok, "--name", "a/b"], /--prompts\/--name: name "a\/b"/],
      [["--dist", "dd_nope", "--store", store, "--out", out], /distribution dd_nope not found/],
    ];
    for (const [args, re] of cases) {
      const r = await run(args);
      assert.equal(r.code, 1, args.join(" "));
      assert.match(r.stderr, re);
      assert.equal(r.stderr.split("\n").length, 1);
    }
    assert.deepEqual(listTree(out), []);
    const h = await run(["--help"]);
    assert.equal(h.code, 0);
    assert.match(h.stdout, /emb_params/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
