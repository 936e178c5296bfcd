/** resolveModel(): models.lock entries to local folders, lazy Hub fetch, refusals. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadDiffusersCheckpoint } from "../../../core/models/checkpoint.ts";
import { hashFile, isPending, type ModelsLock, readModelsLock } from "../../../core/models/lock.ts";
import { ModelError } from "../../../core/models/model_error.ts";
import { DEFAULT_LOCK_PATH, resolveModel } from "../../../core/models/registry.ts";
import {
  type HubServer,
  repoFromDir,
  startHubServer,
  TINY_DIR,
  TINY_FILES,
} from "../../helpers/hub_server.ts";

const REPO = "test-org/tiny-sd2";
const COMMIT = "89abcdef0123456789abcdef0123456789abcdef";
const code = (c: string) => (e: unknown) => e instanceof ModelError && e.code === c;

/** A lock with the fixture as a Hub model (`tiny-hub`) and as a folder (`tiny-path`). */
async function tinyLock(): Promise<ModelsLock> {
  const files: Record<string, { sha256: string; size: number }> = {};
  for (const p of TINY_FILES) files[p] = await hashFile(join(TINY_DIR, p));
  return {
    version: 1,
    models: {
      "tiny-hub": { source: { repo: REPO, revision: COMMIT }, format: "diffusers", files },
      "tiny-path": {
        source: { path: "tests/fixtures/diffusers-tiny-sd2" },
        format: "diffusers",
        files,
      },
      "org/pending": { pending: true, source: { repo: "org/pending" }, format: "diffusers" },
    },
  };
}

interface Ctx {
  hub: HubServer;
  lock: ModelsLock;
  opts: { hubUrl: string; cacheDir: string; offline: false; root: string };
}

async function withHub(fn: (c: Ctx) => Promise<void>): Promise<void> {
  const hub = await startHubServer({ [REPO]: await repoFromDir(TINY_DIR, TINY_FILES, COMMIT) });
  const cacheDir = await Deno.makeTempDir();
  const root = join(DEFAULT_LOCK_PATH, "..");
  try {
    await fn({
      hub,
      lock: await tinyLock(),
      opts: { hubUrl: hub.url, cacheDir, offline: false, root },
    });
  } finally {
    await hub.close();
    await Deno.remove(cacheDir, { recursive: true });
  }
}

Deno.test("resolveModel() fetches a locked Hub model on first use; the folder loads", async () => {
  await withHub(async ({ hub, lock, opts }) => {
    const m = await resolveModel("tiny-hub", { ...opts, lock });
    assert.deepEqual(m, {
      name: "tiny-hub",
      dir: join(opts.cacheDir, "models--test-org--tiny-sd2", "snapshots", COMMIT),
      format: "diffusers",
      revision: COMMIT,
      locked: true,
    });
    const sd = await loadDiffusersCheckpoint(m.dir);
    assert.ok(sd.unet.graph.nodes.length > 0 && sd.textEncoder.graph.nodes.length > 0);
    const n = hub.requests.length;
    await resolveModel("tiny-hub", { ...opts, lock });
    assert.equal(hub.requests.length, n, "second resolve makes no request");
  });
});

Deno.test("resolveModel() downloads once for concurrent first requests", async () => {
  await withHub(async ({ hub, lock, opts }) => {
    const all = await Promise.all([1, 2, 3].map(() => resolveModel("tiny-hub", { ...opts, lock })));
    assert.ok(all.every((m) => m.dir === all[0]!.dir));
    const gets = hub.requests.filter((r) => r.startsWith("GET ") && r.includes("/resolve/"));
    assert.equal(gets.length, 2 * TINY_FILES.length); // one probe and one download per file
  });
});

Deno.test("resolveModel() verifies a folder pinned in this repository", async () => {
  await withHub(async ({ hub, lock, opts }) => {
    const m = await resolveModel("tiny-path", { ...opts, lock });
    assert.equal(m.dir, TINY_DIR.replace(/\/$/, ""));
    assert.match(m.revision, /^sha256-[0-9a-f]{16}$/);
    assert.deepEqual(hub.requests, []);
    const entry = lock.models["tiny-path"]!;
    assert.ok("files" in entry);
    entry.files["unet/config.json"] = { sha256: "0".repeat(64), size: 1664 };
    await assert.rejects(resolveModel("tiny-path", { ...opts, lock }), (e: unknown) => {
      assert.ok(code("corrupt")(e));
      assert.match((e as Error).message, /unet\/config\.json: sha256 [0-9a-f]{64} != 0{64}/);
      return true;
    });
  });
});

Deno.test("resolveModel() refuses models not in models.lock unless allowed", async () => {
  await withHub(async ({ hub, lock, opts }) => {
    await assert.rejects(resolveModel(REPO, { ...opts, lock }), (e: unknown) => {
      assert.ok(code("not_locked")(e));
      assert.match((e as Error).message, /not in models\.lock.*models:lock test-org\/tiny-sd2/);
      return true;
    });
    assert.deepEqual(hub.requests, []);
    const m = await resolveModel(REPO, { ...opts, lock, allowUnlocked: true });
    assert.equal(m.revision, COMMIT);
    assert.equal(m.locked, false);
    await loadDiffusersCheckpoint(m.dir);
    const at = await resolveModel(`${REPO}@${COMMIT}`, { ...opts, lock, allowUnlocked: true });
    assert.equal(at.dir, m.dir);
    const local = await resolveModel(TINY_DIR, { ...opts, lock, allowUnlocked: true });
    assert.deepEqual([local.dir, local.revision, local.locked], [TINY_DIR, "local", false]);
    await assert.rejects(
      resolveModel("no slash", { ...opts, lock, allowUnlocked: true }),
      code("invalid"),
    );
  });
});

Deno.test("resolveModel() refuses a pending entry, naming models:lock", async () => {
  await withHub(async ({ hub, lock, opts }) => {
    await assert.rejects(resolveModel("org/pending", { ...opts, lock }), (e: unknown) => {
      assert.ok(code("pending")(e));
      assert.match((e as Error).message, /deno task models:lock org\/pending/);
      return true;
    });
    assert.deepEqual(hub.requests, []);
  });
});

Deno.test("models.lock: pending Stable Diffusion entries are refused; the fixture entry verifies", async () => {
  const lock = await readModelsLock(DEFAULT_LOCK_PATH);
  const names = Object.keys(lock.models).filter((n) => n.includes("stable-diffusion"));
  assert.equal(names.length, 3);
  for (const name of names) {
    // Pending until `deno task models:lock` pins them where the Hub is reachable.
    if (isPending(lock.models[name]!)) await assert.rejects(resolveModel(name), code("pending"));
  }
  const m = await resolveModel("tiny-sd2-fixture", { offline: true });
  assert.equal(m.dir, TINY_DIR.replace(/\/$/, ""));
  assert.equal(m.locked, true);
});
