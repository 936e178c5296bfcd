/** `deno task models:lock`: pinning pending, new and folder entries against a Hub stand-in. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readModelsLock, writeModelsLock } from "../../../core/models/lock.ts";
import { main } from "../../../core/tasks/models_lock.ts";
import { repoFromDir, startHubServer, TINY_DIR, TINY_FILES } from "../../helpers/hub_server.ts";

const REPO = "test-org/tiny-sd2";
const COMMIT = "fedcba9876543210fedcba9876543210fedcba98";

Deno.test("models:lock pins a pending entry at main's commit and writes models.lock", async () => {
  const hub = await startHubServer({ [REPO]: await repoFromDir(TINY_DIR, TINY_FILES, COMMIT) });
  const dir = await Deno.makeTempDir();
  try {
    const lockPath = join(dir, "models.lock");
    await writeModelsLock(lockPath, {
      version: 1,
      models: {
        [REPO]: {
          pending: true,
          source: { repo: REPO },
          format: "diffusers",
          licence: "CreativeML Open RAIL++-M",
          unofficialMirrorOf: "gone/tiny-sd2",
          note: "not pinned yet",
        },
        "other/kept": { pending: true, source: { repo: "other/kept" }, format: "onnx" },
      },
    });
    const lines: string[] = [];
    const errors: string[] = [];
    const env = { HF_ENDPOINT: hub.url, HF_HUB_CACHE: join(dir, "cache") };
    const io = { env, out: (l: string) => lines.push(l), err: (l: string) => errors.push(l) };
    assert.equal(await main([REPO, "--lock", lockPath], io), 0, errors.join());
    const lock = await readModelsLock(lockPath);
    const entry = lock.models[REPO]!;
    assert.ok("files" in entry && "repo" in entry.source);
    assert.equal(entry.source.revision, COMMIT);
    assert.deepEqual(Object.keys(entry.files), TINY_FILES);
    // Licence and provenance survive pinning; the pending note does not.
    assert.equal(entry.licence, "CreativeML Open RAIL++-M");
    assert.equal(entry.unofficialMirrorOf, "gone/tiny-sd2");
    assert.equal(entry.note, undefined);
    assert.ok("pending" in lock.models["other/kept"]!, "other entries are kept");
    assert.equal(lines.filter((l) => l.endsWith("downloaded")).length, TINY_FILES.length);
    assert.match(lines.at(-1)!, new RegExp(`^pinned ${REPO} \\(${REPO}@${COMMIT}\\): 12 files`));
    assert.deepEqual(Array.from(Deno.readDirSync(dir), (e) => e.name).sort(), [
      "cache",
      "models.lock",
    ]);

    // A new name with --repo, and a folder entry re-hashed in place.
    assert.equal(await main(["alias", "--repo", REPO, "--lock", lockPath], io), 0, errors.join());
    assert.equal(await main(["nope/missing", "--lock", lockPath], io), 1);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /^models:lock: nope\/missing: revision main not found on the Hub/);
    const after = await readModelsLock(lockPath);
    assert.ok("alias" in after.models && !("nope/missing" in after.models));
  } finally {
    await hub.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("models:lock re-hashes a folder entry in place", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const lockPath = join(dir, "models.lock");
    await Deno.mkdir(join(dir, "ckpt"));
    for (const p of TINY_FILES) {
      await Deno.mkdir(join(dir, "ckpt", p, ".."), { recursive: true });
      await Deno.copyFile(join(TINY_DIR, p), join(dir, "ckpt", p));
    }
    await Deno.writeTextFile(join(dir, "ckpt", "notes.txt"), "not pinned");
    const stale = { sha256: "0".repeat(64), size: 1 };
    await writeModelsLock(lockPath, {
      version: 1,
      models: {
        local: {
          source: { path: "ckpt" },
          format: "diffusers",
          files: { "unet/config.json": stale },
        },
      },
    });
    const io = { out: () => {}, err: (l: string) => assert.fail(l) };
    assert.equal(await main(["local", "--lock", lockPath], io), 0);
    const entry = (await readModelsLock(lockPath)).models.local!;
    assert.ok("files" in entry);
    assert.deepEqual(Object.keys(entry.files), TINY_FILES);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
