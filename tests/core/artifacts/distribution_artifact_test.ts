/** Distribution artifacts: bit-exact round trips, verification, nothing written on bad input. */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  deleteDistribution,
  type DistributionTensors,
  listDistributions,
  loadDistribution,
  type ManifestInput,
  newDistributionId,
  saveDistribution,
} from "../../../core/artifacts/distribution_artifact.ts";
import { readSafetensors } from "../../../core/artifacts/safetensors_write.ts";
import { FsStore } from "../../../core/store/fs_store.ts";
import { type ListOptions, type Store, StoreError } from "../../../core/store/store.ts";

const [K, M, L, d] = [3, 2, 5, 4];
const code = (c: string, msg?: RegExp) => (e: unknown) =>
  e instanceof StoreError && e.code === c && (msg === undefined || msg.test(e.message));

function input(id: string, over: Partial<ManifestInput> = {}): ManifestInput {
  return {
    id,
    createdAt: "2026-11-27T10:00:00.000Z",
    model: { name: "dd-tiny", revision: "0123abcd" },
    K,
    M,
    L,
    d,
    template: { prefix: "a photo of", suffix: "" },
    options: { steps: 1500, lr: 1e-3, ortho: { kind: "paper", lambda: 5e-3 }, flip: null },
    references: [{ sha256: "ab".repeat(32) }, { sha256: "cd".repeat(32) }],
    lossCurve: [0.9, 0.5, 0.25],
    ...over,
  };
}

function tensors(seed = 1): DistributionTensors {
  const fill = (n: number, f: (i: number) => number) =>
    Float32Array.from({ length: n }, (_, i) => f(i));
  return {
    ctx: { data: fill(K * M * d, (i) => Math.sin(i * seed) * 0.02), shape: [K, M, d] },
    mu: { data: fill(L * d, (i) => Math.cos(i + seed) / 3), shape: [L, d] },
    sigma: { data: fill(L * d, (i) => (i % 3) * 0.1 + 1e-7), shape: [L, d] },
  };
}

const bytesOf = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

async function withStore(fn: (store: FsStore) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(new FsStore(dir));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A store that records the order of writes and deletes. */
class RecordingStore implements Store {
  readonly log: string[] = [];
  constructor(readonly inner: Store) {}
  get url() {
    return this.inner.url;
  }
  put(key: string, bytes: Uint8Array) {
    this.log.push(`put ${key}`);
    return this.inner.put(key, bytes);
  }
  get(key: string) {
    return this.inner.get(key);
  }
  exists(key: string) {
    return this.inner.exists(key);
  }
  delete(key: string) {
    this.log.push(`delete ${key}`);
    return this.inner.delete(key);
  }
  list(prefix: string, opts?: ListOptions) {
    return this.inner.list(prefix, opts);
  }
}

Deno.test("saveDistribution() then loadDistribution() round-trips bit for bit", async () => {
  await withStore(async (store) => {
    const id = newDistributionId();
    const t = tensors();
    const saved = await saveDistribution(store, input(id), t);
    assert.equal(saved.format, "dreamdistribution/1");
    assert.deepEqual({ ...saved, format: undefined, files: undefined }, {
      ...input(id),
      format: undefined,
      files: undefined,
    });
    assert.match(saved.files["prompts.safetensors"].sha256, /^[0-9a-f]{64}$/);
    assert.deepEqual(await store.list(""), [
      `distributions/${id}/manifest.json`,
      `distributions/${id}/prompts.safetensors`,
    ]);
    const loaded = await loadDistribution(store, id);
    assert.deepEqual(loaded.manifest, saved);
    for (const name of ["ctx", "mu", "sigma"] as const) {
      assert.deepEqual(loaded.tensors[name].shape, t[name].shape);
      assert.deepEqual(bytesOf(loaded.tensors[name].data), bytesOf(t[name].data));
    }
    // The file is plain safetensors, readable on its own.
    const prompts = (await store.get(`distributions/${id}/prompts.safetensors`))!;
    const file = readSafetensors(prompts);
    assert.deepEqual([...file.tensors.keys()], ["ctx", "mu", "sigma"]);
    assert.deepEqual(file.metadata, { format: "dreamdistribution/1", id });
    assert.equal(saved.files["prompts.safetensors"].size, prompts.length);
  });
});

Deno.test("saveDistribution() writes the manifest last; saving again hides the old one first", async () => {
  await withStore(async (fs) => {
    const store = new RecordingStore(fs);
    await saveDistribution(store, input("dd_a"), tensors());
    assert.deepEqual(store.log, [
      "delete distributions/dd_a/manifest.json",
      "put distributions/dd_a/prompts.safetensors",
      "put distributions/dd_a/manifest.json",
    ]);
    const again = await saveDistribution(store, input("dd_a", { lossCurve: [1] }), tensors(2));
    assert.deepEqual((await loadDistribution(store, "dd_a")).manifest, again);
  });
});

Deno.test("loadDistribution() refuses a corrupted prompts.safetensors, naming sha256", async () => {
  await withStore(async (store) => {
    await saveDistribution(store, input("dd_x"), tensors());
    const key = "distributions/dd_x/prompts.safetensors";
    const bytes = (await store.get(key))!;
    const flipped = bytes.slice();
    flipped[flipped.length - 3]! ^= 0x01;
    await store.put(key, flipped);
    await assert.rejects(loadDistribution(store, "dd_x"), code("corrupt", /sha256 mismatch/));
    await store.put(key, bytes.subarray(0, bytes.length - 4));
    await assert.rejects(loadDistribution(store, "dd_x"), code("corrupt", /size mismatch/));
    await store.put(key, bytes);
    await loadDistribution(store, "dd_x");
  });
});

Deno.test("loadDistribution() refuses a tampered manifest as corrupt", async () => {
  await withStore(async (store) => {
    const saved = await saveDistribution(store, input("dd_x"), tensors());
    const key = "distributions/dd_x/manifest.json";
    const put = (v: unknown) => store.put(key, new TextEncoder().encode(JSON.stringify(v)));
    await store.put(key, new TextEncoder().encode("{not json"));
    await assert.rejects(loadDistribution(store, "dd_x"), code("corrupt", /not valid JSON/));
    await put({ ...saved, format: "dreamdistribution/2" });
    await assert.rejects(loadDistribution(store, "dd_x"), code("corrupt", /format/));
    await put({ ...saved, K: "3" });
    await assert.rejects(loadDistribution(store, "dd_x"), code("corrupt", /K/));
    await put({ ...saved, id: "dd_y" });
    await assert.rejects(loadDistribution(store, "dd_x"), code("corrupt", /names id dd_y/));
    await put({ ...saved, K: 4 }); // the file's ctx is [3,2,4]
    await assert.rejects(loadDistribution(store, "dd_x"), code("corrupt", /'ctx' has shape/));
  });
});

Deno.test("loadDistribution() reports missing distributions as not_found", async () => {
  await withStore(async (store) => {
    await assert.rejects(loadDistribution(store, "dd_nope"), code("not_found", /dd_nope/));
    await saveDistribution(store, input("dd_x"), tensors());
    await store.delete("distributions/dd_x/prompts.safetensors");
    await assert.rejects(loadDistribution(store, "dd_x"), code("not_found", /prompts/));
  });
});

Deno.test("saveDistribution() refuses bad shapes, non-finite values and bad fields; writes nothing", async () => {
  await withStore(async (store) => {
    await saveDistribution(store, input("dd_keep"), tensors());
    const before = await store.list("");
    const t = tensors();
    const nan = tensors();
    nan.mu.data[7] = NaN;
    const inf = tensors();
    inf.ctx.data[0] = -Infinity;
    const neg = tensors();
    neg.sigma.data[2] = -0.5;
    const cases: [Partial<ManifestInput>, DistributionTensors, RegExp][] = [
      [{}, { ...t, ctx: { data: t.ctx.data, shape: [K, M + 1, d] } }, /ctx has shape/],
      [{ L: L + 1 }, t, /mu has shape/],
      [{}, { ...t, sigma: { data: new Float32Array(3), shape: [L, d] } }, /sigma has 3 values/],
      [{}, { ...t, mu: { data: [1] as unknown as Float32Array, shape: [L, d] } }, /Float32Array/],
      [{}, nan, /mu\[7\] is NaN/],
      [{}, inf, /ctx\[0\] is -Infinity/],
      [{}, neg, /sigma\[2\] is -0.5/],
      [{ K: 0 }, t, /K/],
      [{ createdAt: "yesterday" }, t, /createdAt/],
      [{ lossCurve: [1, NaN] }, t, /lossCurve/],
      [{ options: { lr: undefined } }, t, /options/],
      [{ options: { lr: Infinity } }, t, /options/],
      [{ references: [{ sha256: "xyz" }] }, t, /references/],
      [{ model: { name: "", revision: "r" } }, t, /model/],
    ];
    for (const [over, tt, msg] of cases) {
      await assert.rejects(saveDistribution(store, input("dd_new", over), tt), msg, String(msg));
    }
    assert.deepEqual(await store.list(""), before);
  });
});

Deno.test("distribution ids are validated everywhere", async () => {
  await withStore(async (store) => {
    for (const id of ["", "../x", "DD_UPPER", "a/b", "x".repeat(65), "dd x"]) {
      await assert.rejects(saveDistribution(store, input(id), tensors()), code("invalid_key"));
      await assert.rejects(loadDistribution(store, id), code("invalid_key"));
      await assert.rejects(deleteDistribution(store, id), code("invalid_key"));
    }
    await assert.rejects(listDistributions(store, { after: "../x" }), code("invalid_key"));
    await assert.rejects(listDistributions(store, { limit: 0 }), RangeError);
    assert.deepEqual(await store.list(""), []);
  });
});

Deno.test("deleteDistribution() removes the manifest first, then the files", async () => {
  await withStore(async (fs) => {
    await saveDistribution(fs, input("dd_a"), tensors());
    await saveDistribution(fs, input("dd_b"), tensors());
    const store = new RecordingStore(fs);
    await deleteDistribution(store, "dd_a");
    assert.deepEqual(store.log, [
      "delete distributions/dd_a/manifest.json",
      "delete distributions/dd_a/prompts.safetensors",
    ]);
    assert.deepEqual(await listDistributions(fs), ["dd_b"]);
    await assert.rejects(loadDistribution(fs, "dd_a"), code("not_found"));
    assert.deepEqual(await fs.list("distributions/dd_a/"), []);
    await deleteDistribution(fs, "dd_a"); // absent: no error
    await loadDistribution(fs, "dd_b");
  });
});

Deno.test("listDistributions() lists ids with a manifest, sorted, paged by after and limit", async () => {
  await withStore(async (store) => {
    const ids = ["dd_c", "ab-c", "ab", "dd_a", "zz", "ab_c"];
    for (const id of ids) await saveDistribution(store, input(id), tensors());
    // Half-written (no manifest yet) and stray keys are not listed.
    await store.put("distributions/dd_half/prompts.safetensors", new Uint8Array(8));
    await store.put("distributions/manifest.json", new Uint8Array(1));
    await store.put("jobs/j1/manifest.json", new Uint8Array(1));
    const sorted = [...ids].sort();
    assert.deepEqual(sorted, ["ab", "ab-c", "ab_c", "dd_a", "dd_c", "zz"]);
    assert.deepEqual(await listDistributions(store), sorted);
    assert.deepEqual(await listDistributions(store, { limit: 2 }), ["ab", "ab-c"]);
    assert.deepEqual(await listDistributions(store, { after: "ab-c", limit: 2 }), ["ab_c", "dd_a"]);
    assert.deepEqual(await listDistributions(store, { after: "dd_c" }), ["zz"]);
    assert.deepEqual(await listDistributions(store, { after: "zz" }), []);
    assert.deepEqual(await listDistributions(new FsStore(join(store.root, "none"))), []);
  });
});

Deno.test("newDistributionId() makes distinct dd_ + 20 base32 ids", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const id = newDistributionId();
    assert.match(id, /^dd_[a-z2-7]{20}$/);
    seen.add(id);
  }
  assert.equal(seen.size, 1000);
});
