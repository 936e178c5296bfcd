/** openStore(): picking a store by URL. */
import assert from "node:assert/strict";
import { FsStore } from "../../../core/store/fs_store.ts";
import { openStore } from "../../../core/store/open.ts";

Deno.test("openStore() opens file:/// URLs and plain paths as an FsStore", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = await openStore(`file://${dir}`);
    assert.ok(a instanceof FsStore);
    assert.equal(a.root, dir);
    assert.equal(a.url, `file://${dir}`);
    const b = await openStore(dir);
    assert.ok(b instanceof FsStore && b.root === dir);
    await a.put("x/y", new Uint8Array([1]));
    assert.deepEqual(await b.get("x/y"), new Uint8Array([1]));
    const rel = await openStore("some/relative");
    assert.ok(rel instanceof FsStore && rel.root === `${Deno.cwd()}/some/relative`);
    const spaced = await openStore(`file://${dir}/with%20space`);
    assert.ok(spaced instanceof FsStore && spaced.root === `${dir}/with space`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openStore() refuses other schemes", async () => {
  await assert.rejects(openStore("https://example.com/x"), /unsupported scheme 'https:'/);
  await assert.rejects(openStore("file://host/share"), /not a local file URL/);
  await assert.rejects(openStore(""), /empty/);
});
