/** FsStore: the Store contract on a local directory, atomic writes, listings, bad keys. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { FsStore } from "../../../core/store/fs_store.ts";
import { StoreError } from "../../../core/store/store.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const code = (c: string) => (e: unknown) => e instanceof StoreError && e.code === c;

async function withStore(fn: (store: FsStore, dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(new FsStore(join(dir, "store")), dir);
  } finally {
    await Deno.chmod(dir, 0o755).catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
}

/** Every file name under `dir`, relative, sorted (temp files included). */
async function allFiles(dir: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(join(dir, rel))) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) out.push(...await allFiles(dir, p));
      else out.push(p);
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out.sort();
}

Deno.test("FsStore put(), get(), exists(), delete() keep bytes under keys", async () => {
  await withStore(async (store) => {
    assert.equal(await store.get("a/b.json"), null);
    assert.equal(await store.exists("a/b.json"), false);
    await store.put("a/b.json", enc("one"), { contentType: "application/json" });
    assert.deepEqual(await store.get("a/b.json"), enc("one"));
    assert.equal(await store.exists("a/b.json"), true);
    await store.put("a/b.json", enc("two!"));
    assert.deepEqual(await store.get("a/b.json"), enc("two!"));
    await store.put("empty", new Uint8Array(0));
    assert.deepEqual(await store.get("empty"), new Uint8Array(0));
    // A folder is not a key.
    assert.equal(await store.get("a"), null);
    assert.equal(await store.exists("a"), false);
    await store.delete("a");
    assert.equal(await store.exists("a/b.json"), true);
    await store.delete("a/b.json");
    assert.equal(await store.get("a/b.json"), null);
    await store.delete("a/b.json"); // absent: no error
    await store.delete("never/was/here");
    assert.deepEqual(await allFiles(store.root), ["empty"]); // empty folders pruned
    assert.ok(store.url.startsWith("file:///") && store.url.endsWith("/store"));
  });
});

Deno.test("FsStore list() returns sorted keys by prefix, paged by after and limit", async () => {
  await withStore(async (store) => {
    assert.deepEqual(await store.list(""), []); // root not created yet
    const keys = ["b/1", "a/x/2", "a/x/1", "a-b", "a/y", "a.c", "ab/z", "a/x-1/q", "c"];
    for (const k of keys) await store.put(k, enc(k));
    const sorted = [...keys].sort();
    assert.deepEqual(await store.list(""), sorted);
    assert.deepEqual(await store.list("a/"), ["a/x-1/q", "a/x/1", "a/x/2", "a/y"]);
    assert.deepEqual(await store.list("a"), sorted.filter((k) => k.startsWith("a")));
    assert.deepEqual(await store.list("a/x"), ["a/x-1/q", "a/x/1", "a/x/2"]);
    assert.deepEqual(await store.list("a/x/"), ["a/x/1", "a/x/2"]);
    assert.deepEqual(await store.list("zz/"), []);
    assert.deepEqual(await store.list("c/"), []); // 'c' is a file, not a folder
    // Paging through everything, two at a time, gives the same sorted list.
    const paged: string[] = [];
    for (let page = await store.list("", { limit: 2 }); page.length > 0;) {
      paged.push(...page);
      page = await store.list("", { limit: 2, after: page[page.length - 1]! });
    }
    assert.deepEqual(paged, sorted);
    assert.deepEqual(await store.list("", { after: "a/x/1" }), sorted.filter((k) => k > "a/x/1"));
    assert.deepEqual(await store.list("a/", { after: "a/x", limit: 2 }), ["a/x-1/q", "a/x/1"]);
    assert.deepEqual(await store.list("", { after: "zzz" }), []);
  });
});

Deno.test("FsStore list() skips temp files, symlinks and names no key can have", async () => {
  await withStore(async (store) => {
    await store.put("d/k", enc("v"));
    await Deno.writeTextFile(join(store.root, "d", ".~stray"), "half");
    await Deno.writeTextFile(join(store.root, "d", "with space"), "x");
    await Deno.symlink(join(store.root, "d", "k"), join(store.root, "d", "link"));
    assert.deepEqual(await store.list(""), ["d/k"]);
  });
});

Deno.test("FsStore put() leaves no temp files, and readers never see a partial value", async () => {
  await withStore(async (store) => {
    const A = new Uint8Array(1 << 20).fill(0xaa);
    const B = new Uint8Array(1 << 20).fill(0xbb);
    await store.put("big", A);
    let done = false;
    const writer = (async () => {
      for (let i = 0; i < 10; i++) await store.put("big", i % 2 ? A : B);
      done = true;
    })();
    let reads = 0;
    while (!done) {
      const got = (await store.get("big"))!;
      assert.equal(got.length, A.length);
      const other = got[0] === 0xaa ? 0xbb : 0xaa;
      assert.equal(got.indexOf(other), -1, "a read saw a mix of two writes");
      reads++;
    }
    await writer;
    assert.ok(reads > 0);
    await Promise.all([1, 2, 3, 4, 5].map((i) => store.put("same", enc(`v${i}`))));
    assert.match(new TextDecoder().decode((await store.get("same"))!), /^v[1-5]$/);
    assert.deepEqual(await allFiles(store.root), ["big", "same"]);
  });
});

Deno.test("FsStore put() that fails mid-way leaves no key and no temp file", async () => {
  await withStore(async (store) => {
    // The temp file is written, then the rename fails: a folder sits at the key.
    await store.put("a/b", enc("inner"));
    await assert.rejects(store.put("a", enc("x")), code("io"));
    assert.deepEqual(await allFiles(store.root), ["a/b"]);
    assert.equal(await store.get("a"), null);
    assert.deepEqual(await store.get("a/b"), enc("inner"));
    // A file where a folder must be.
    await store.put("f", enc("file"));
    await assert.rejects(store.put("f/g", enc("x")), code("io"));
    // Invalid data: refused before anything is written.
    const notBytes = "text" as unknown as Uint8Array;
    await assert.rejects(store.put("k", notBytes), TypeError);
    assert.deepEqual(await allFiles(store.root), ["a/b", "f"]);
  });
});

Deno.test({
  name: "FsStore put() into a read-only folder fails with io and leaves nothing",
  ignore: Deno.build.os === "windows" || Deno.uid() === 0, // root ignores permissions
  fn: () =>
    withStore(async (store) => {
      await store.put("ro/old", enc("old"));
      await Deno.chmod(join(store.root, "ro"), 0o555);
      try {
        await assert.rejects(store.put("ro/new", enc("x")), code("io"));
        await assert.rejects(store.put("ro/old", enc("x")), code("io"));
        assert.deepEqual(await store.get("ro/old"), enc("old"));
        assert.deepEqual(await allFiles(store.root), ["ro/old"]);
      } finally {
        await Deno.chmod(join(store.root, "ro"), 0o755);
      }
    }),
});

Deno.test("FsStore refuses invalid keys on every operation and writes nothing", async () => {
  await withStore(async (store, dir) => {
    await store.put("ok", enc("1"));
    for (const k of ["../x", "/abs", "a/../../b", "a\\b", "a/./b", "", "a\u0000b"]) {
      await assert.rejects(store.put(k, enc("x")), code("invalid_key"), k);
      await assert.rejects(store.get(k), code("invalid_key"), k);
      await assert.rejects(store.exists(k), code("invalid_key"), k);
      await assert.rejects(store.delete(k), code("invalid_key"), k);
    }
    await assert.rejects(store.list("../"), code("invalid_key"));
    await assert.rejects(store.list("/"), code("invalid_key"));
    await assert.rejects(store.list("", { limit: 0 }), RangeError);
    assert.deepEqual(await allFiles(dir), ["store/ok"]);
  });
});
