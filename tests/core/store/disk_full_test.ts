/**
 * A full disk: a folder store on a small tmpfs. A write that does not fit fails with a
 * StoreError("io") and leaves no temp file; a training whose artifact does not fit fails and
 * leaves nothing that lists or loads; the store keeps working once there is room again.
 *
 * It needs `mount -t tmpfs` (root, as on the CI machines). Where mounting is refused it is
 * reported as ignored, with the reason, never as passed.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Engine } from "../../../core/engine/engine.ts";
import { encodePng } from "../../../core/images/encode.ts";
import { FsStore } from "../../../core/store/fs_store.ts";
import { StoreError } from "../../../core/store/store.ts";
import { discImages, SD2_DIR } from "../../helpers/tiny_model.ts";

const mountPoint = Deno.makeTempDirSync({ prefix: "dd-diskfull-" });
const mounted = new Deno.Command("mount", {
  args: ["-t", "tmpfs", "-o", "size=96k", "tmpfs", mountPoint],
  stdout: "null",
  stderr: "null",
}).outputSync().success;
if (!mounted) console.error(`disk_full_test: cannot mount a tmpfs at ${mountPoint}; ignored`);

function unmount(): void {
  if (mounted) new Deno.Command("umount", { args: [mountPoint] }).outputSync();
  Deno.removeSync(mountPoint, { recursive: true });
}

/** Every file under `dir`, relative. */
function files(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(join(dir, prefix))) {
    const rel = join(prefix, e.name);
    if (e.isDirectory) out.push(...files(dir, rel));
    else out.push(rel);
  }
  return out.sort();
}

Deno.test({
  name: "disk full: failed writes leave no temp file, a training leaves nothing, room again works",
  ignore: !mounted,
  sanitizeResources: false,
  fn: async (t) => {
    try {
      const store = new FsStore(mountPoint);
      await t.step(
        "a write larger than the free space is a StoreError io; no temp file left",
        async () => {
          const err = await store.put("big/blob.bin", new Uint8Array(200 * 1024).fill(7)).then(
            () => null,
            (e) => e,
          );
          assert.ok(err instanceof StoreError, `got ${err}`);
          assert.equal(err.code, "io");
          assert.match(err.message, /space|quota|No space/i);
          assert.deepEqual(files(mountPoint).filter((f) => f.includes(".~")), []);
          assert.equal(await store.get("big/blob.bin"), null);
        },
      );
      await t.step("a training whose artifact does not fit fails and leaves nothing", async () => {
        // Fill most of the disk so the artifact (about 10 KiB of tensors) cannot be written.
        const filler = new Uint8Array(90 * 1024);
        let size = filler.length;
        for (let i = 0; size > 512; i++) {
          try {
            await Deno.writeFile(join(mountPoint, `filler-${i}`), filler.subarray(0, size));
          } catch {
            size = Math.floor(size / 2);
          }
        }
        const engine = new Engine({
          store,
          resolveModel: () => Promise.resolve({ dir: SD2_DIR, revision: "fixture" }),
          defaultModel: "tiny-sd2-fixture",
          cacheDir: null,
        });
        try {
          const images = discImages(3).map((img, i) => ({ bytes: encodePng(img), name: `r${i}` }));
          const err = await engine.train({
            images,
            options: { K: 2, M: 2, S: 1, batchSize: 1, steps: 1, seed: 1 },
          }).then(() => null, (e) => e);
          assert.ok(err instanceof StoreError, `got ${err}`);
          assert.deepEqual(await engine.list(), []);
          assert.deepEqual(
            files(mountPoint).filter((f) => !f.startsWith("filler-")),
            [],
            "no partial artifact, manifest or temp file",
          );
        } finally {
          await engine.close();
        }
        for (const f of files(mountPoint).filter((f) => f.startsWith("filler-"))) {
          await Deno.remove(join(mountPoint, f));
        }
      });
      await t.step("with room again, the same store writes and reads", async () => {
        await store.put("ok/small.bin", new Uint8Array([1, 2, 3]));
        assert.deepEqual(await store.get("ok/small.bin"), new Uint8Array([1, 2, 3]));
      });
    } finally {
      unmount();
    }
  },
});
