/** Hub fetching against a Hub stand-in on 127.0.0.1: cache layout, verification, errors. */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  fetchModel,
  type FetchOptions,
  type FetchProgress,
  hubOptionsFromEnv,
  pinModel,
  snapshotDir,
} from "../../../core/models/hub.ts";
import { hashFile, type LockedEntry } from "../../../core/models/lock.ts";
import { ModelError } from "../../../core/models/model_error.ts";
import {
  type HubServer,
  repoFromDir,
  startHubServer,
  TINY_DIR,
  TINY_FILES,
} from "../../helpers/hub_server.ts";

const REPO = "test-org/tiny-sd2";
const COMMIT = "0123456789abcdef0123456789abcdef01234567";
const code = (c: string) => (e: unknown) => e instanceof ModelError && e.code === c;

/** The lock entry of the fixture served as REPO at COMMIT. */
async function tinyEntry(): Promise<LockedEntry> {
  const files: LockedEntry["files"] = {};
  for (const p of TINY_FILES) files[p] = await hashFile(join(TINY_DIR, p));
  return { source: { repo: REPO, revision: COMMIT }, format: "diffusers", files };
}

async function withHub(
  fn: (hub: HubServer, opts: FetchOptions, entry: LockedEntry) => Promise<void>,
): Promise<void> {
  const repo = await repoFromDir(TINY_DIR, [...TINY_FILES, "README.md"], COMMIT);
  const hub = await startHubServer({ [REPO]: repo });
  const cacheDir = await Deno.makeTempDir();
  try {
    await fn(hub, { hubUrl: hub.url, cacheDir, offline: false }, await tinyEntry());
  } finally {
    await hub.close();
    await Deno.remove(cacheDir, { recursive: true });
  }
}

Deno.test("fetchModel() downloads into the HF cache layout and verifies every file", async () => {
  await withHub(async (hub, opts, entry) => {
    const seen: FetchProgress[] = [];
    const dir = await fetchModel("tiny", entry, { ...opts, onProgress: (p) => seen.push(p) });
    assert.equal(dir, snapshotDir(opts.cacheDir, REPO, COMMIT));
    assert.equal(dir, join(opts.cacheDir, "models--test-org--tiny-sd2", "snapshots", COMMIT));
    for (const p of TINY_FILES) {
      const link = join(dir, p);
      assert.ok((await Deno.lstat(link)).isSymlink, `${p} is a link into blobs/`);
      const blob = await Deno.realPath(link);
      assert.ok(blob.startsWith(join(opts.cacheDir, "models--test-org--tiny-sd2", "blobs")));
      // LFS files are stored under their sha256, as the Python library does.
      if (p.endsWith(".safetensors")) assert.ok(blob.endsWith(entry.files[p]!.sha256));
      assert.deepEqual(await Deno.readFile(link), await Deno.readFile(join(TINY_DIR, p)));
    }
    assert.equal(seen.filter((s) => s.status === "downloaded").length, TINY_FILES.length);
    assert.deepEqual(seen[0], {
      path: "model_index.json",
      index: 1,
      total: TINY_FILES.length,
      size: entry.files["model_index.json"]!.size,
      status: "downloading",
    });
    assert.ok(!hub.requests.some((r) => r.includes("README.md")), "only pinned files");
  });
});

Deno.test("fetchModel() makes no request when the files are cached and verified", async () => {
  await withHub(async (hub, opts, entry) => {
    await fetchModel("tiny", entry, opts);
    const before = hub.requests.length;
    const seen: string[] = [];
    await fetchModel("tiny", entry, { ...opts, onProgress: (p) => seen.push(p.status) });
    assert.equal(hub.requests.length, before);
    assert.deepEqual(seen, TINY_FILES.map(() => "cached"));
  });
});

Deno.test("fetchModel() reuses a cache laid out by other tools (no request)", async () => {
  await withHub(async (hub, opts, entry) => {
    // As huggingface_hub (Python) leaves it: blobs/<etag> and relative snapshot links.
    const root = join(opts.cacheDir, "models--test-org--tiny-sd2");
    for (const p of TINY_FILES) {
      const blob = join(root, "blobs", `blob-${entry.files[p]!.sha256}`);
      await Deno.mkdir(join(root, "blobs"), { recursive: true });
      await Deno.copyFile(join(TINY_DIR, p), blob);
      const link = join(root, "snapshots", COMMIT, p);
      await Deno.mkdir(join(link, ".."), { recursive: true });
      const up = "../".repeat(p.split("/").length + 1);
      await Deno.symlink(`${up}blobs/blob-${entry.files[p]!.sha256}`, link);
    }
    await fetchModel("tiny", entry, opts);
    assert.deepEqual(hub.requests, []);
  });
});

Deno.test("fetchModel() fetches again only a file damaged in the cache", async () => {
  await withHub(async (hub, opts, entry) => {
    const dir = await fetchModel("tiny", entry, opts);
    const victim = join(dir, "vae/config.json");
    const bytes = await Deno.readFile(victim);
    bytes[0] = bytes[0]! ^ 1;
    await Deno.writeFile(await Deno.realPath(victim), bytes);
    hub.requests.length = 0;
    await fetchModel("tiny", entry, opts);
    assert.equal(hub.requests.length, 3, hub.requests.join()); // paths-info, probe, GET
    assert.ok(hub.requests.slice(1).every((r) => r.endsWith("/vae/config.json")));
    assert.deepEqual(await Deno.readFile(victim), await Deno.readFile(join(TINY_DIR, p(victim))));
  });
  function p(path: string) {
    return path.slice(path.indexOf(COMMIT) + COMMIT.length + 1);
  }
});

Deno.test("fetchModel() refuses a corrupted download and leaves nothing of it", async () => {
  await withHub(async (hub, opts, entry) => {
    const bad = "unet/diffusion_pytorch_model.safetensors";
    hub.corrupt.add(`${REPO}/${bad}`);
    await assert.rejects(fetchModel("tiny", entry, opts), (e: unknown) => {
      assert.ok(code("corrupt")(e));
      assert.match(
        (e as Error).message,
        /tiny: unet\/diffusion_pytorch_model\.safetensors: sha256 /,
      );
      assert.match((e as Error).message, /deleted/);
      return true;
    });
    const dir = snapshotDir(opts.cacheDir, REPO, COMMIT);
    await assert.rejects(Deno.lstat(join(dir, bad)), Deno.errors.NotFound);
    const blobs = join(opts.cacheDir, "models--test-org--tiny-sd2", "blobs");
    for await (const b of Deno.readDir(blobs)) {
      assert.ok(!b.name.startsWith(entry.files[bad]!.sha256), `bad blob ${b.name} left`);
    }
    // Once the Hub serves the right bytes, the next fetch completes.
    hub.corrupt.clear();
    await fetchModel("tiny", entry, opts);
    assert.equal((await hashFile(join(dir, bad))).sha256, entry.files[bad]!.sha256);
  });
});

Deno.test("fetchModel() never uses a download cut off halfway", async () => {
  await withHub(async (hub, opts, entry) => {
    const cut = "unet/diffusion_pytorch_model.safetensors";
    hub.truncate.add(`${REPO}/${cut}`);
    await assert.rejects(fetchModel("tiny", entry, opts), code("unavailable"));
    const dir = snapshotDir(opts.cacheDir, REPO, COMMIT);
    await assert.rejects(Deno.lstat(join(dir, cut)), Deno.errors.NotFound);
    hub.truncate.clear();
    await fetchModel("tiny", entry, opts);
    assert.equal((await hashFile(join(dir, cut))).sha256, entry.files[cut]!.sha256);
  });
});

Deno.test("fetchModel() reports a missing file, repo or revision as not_found", async () => {
  await withHub(async (hub, opts, entry) => {
    const missing = {
      ...entry,
      files: { "unet/nope.safetensors": { sha256: "0".repeat(64), size: 1 } },
    };
    await assert.rejects(fetchModel("tiny", missing, opts), (e: unknown) => {
      assert.ok(code("not_found")(e));
      assert.equal(
        (e as Error).message,
        `tiny: unet/nope.safetensors at ${COMMIT} not found on the Hub (HTTP 404)`,
      );
      return true;
    });
    const other = { ...entry, source: { repo: "test-org/absent", revision: COMMIT } };
    await assert.rejects(fetchModel("absent", other, opts), code("not_found"));
    const rev = { ...entry, source: { repo: REPO, revision: "f".repeat(40) } };
    await assert.rejects(fetchModel("tiny", rev, opts), code("not_found"));
    assert.ok(hub.requests.length > 0);
  });
});

Deno.test("fetchModel() sends the token; without it a gated repo is denied", async () => {
  await withHub(async (hub, opts, entry) => {
    hub.repos.get(REPO)!.token = "hf_secret";
    await assert.rejects(fetchModel("tiny", entry, opts), (e: unknown) => {
      assert.ok(code("denied")(e));
      assert.match((e as Error).message, /HTTP 401.*HF_TOKEN/);
      return true;
    });
    await fetchModel("tiny", entry, { ...opts, token: "hf_secret" });
  });
});

Deno.test("fetchModel() offline uses verified cached files only", async () => {
  await withHub(async (hub, opts, entry) => {
    await assert.rejects(fetchModel("tiny", entry, { ...opts, offline: true }), (e: unknown) => {
      assert.ok(code("unavailable")(e));
      assert.match((e as Error).message, /not in the cache .* HF_HUB_OFFLINE/);
      return true;
    });
    assert.deepEqual(hub.requests, []);
    await fetchModel("tiny", entry, opts);
    await fetchModel("tiny", entry, { ...opts, offline: true });
  });
});

Deno.test("fetchModel() shares one download between concurrent calls", async () => {
  await withHub(async (hub, opts, entry) => {
    const [a, b] = await Promise.all([fetchModel("a", entry, opts), fetchModel("b", entry, opts)]);
    assert.equal(a, b);
    const once = hub.requests.length;
    assert.equal(once, 3 * TINY_FILES.length, hub.requests.join("\n")); // paths-info, probe, GET
  });
});

Deno.test("fetchModel() reports an unreachable Hub as unavailable", async () => {
  await withHub(async (_hub, opts, entry) => {
    const dead = { ...opts, hubUrl: "http://127.0.0.1:9" };
    await assert.rejects(fetchModel("tiny", entry, dead), code("unavailable"));
  });
});

Deno.test("pinModel() resolves main to its commit and hashes the files core needs", async () => {
  await withHub(async (hub, opts, entry) => {
    const pinned = await pinModel(REPO, "main", "diffusers", opts);
    assert.deepEqual(pinned.entry, entry); // README.md and other files are not pinned
    assert.equal(pinned.dir, snapshotDir(opts.cacheDir, REPO, COMMIT));
    assert.ok(hub.requests.includes(`GET /api/models/${REPO}/revision/main`));
    // Pinning again reuses the cache.
    hub.requests.length = 0;
    await pinModel(REPO, COMMIT, "diffusers", opts);
    assert.ok(hub.requests.every((r) => r.includes("/tree/")), hub.requests.join());
    // A file the Hub lists with another sha256 than it serves is refused.
    hub.corrupt.add(`${REPO}/vae/diffusion_pytorch_model.safetensors`);
    const fresh = { ...opts, cacheDir: join(opts.cacheDir, "fresh") };
    await assert.rejects(pinModel(REPO, "main", "diffusers", fresh), (e: unknown) => {
      assert.ok(code("corrupt")(e));
      assert.match(
        (e as Error).message,
        /vae\/diffusion_pytorch_model\.safetensors: sha256 .* listed by the Hub/,
      );
      return true;
    });
    await assert.rejects(pinModel(REPO, "main", "onnx", opts), /no text_encoder\/model\.onnx/);
  });
});

Deno.test("hubOptionsFromEnv() reads HF_ENDPOINT, HF_TOKEN, HF_HOME, HF_HUB_CACHE", () => {
  const o = hubOptionsFromEnv({
    HF_ENDPOINT: "http://127.0.0.1:1234/",
    HF_TOKEN: "hf_x",
    HF_HOME: "/h",
    HF_HUB_OFFLINE: "1",
  });
  assert.deepEqual(o, {
    hubUrl: "http://127.0.0.1:1234",
    cacheDir: "/h/hub",
    offline: true,
    token: "hf_x",
  });
  assert.equal(hubOptionsFromEnv({ HF_HOME: "/h", HF_HUB_CACHE: "/c" }).cacheDir, "/c");
  assert.equal(hubOptionsFromEnv({ XDG_CACHE_HOME: "/x" }).cacheDir, "/x/huggingface/hub");
  assert.equal(hubOptionsFromEnv({}).token, undefined);
});
