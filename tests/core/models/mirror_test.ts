/**
 * Model mirrors (core/models/mirror.ts) in the fetch path: a folder in the Hugging Face cache
 * layout and an S3 prefix (s3rver) as sources, a tampered mirror refused, a file missing from
 * the mirror taken from the Hub, and a model resolved from each kind of source.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadDiffusersCheckpoint } from "../../../core/models/checkpoint.ts";
import { hashFile, type LockedFile, type ModelsLock } from "../../../core/models/lock.ts";
import {
  fetchFromMirror,
  mirrorFromEnv,
  mirrorKey,
  openMirror,
} from "../../../core/models/mirror.ts";
import { ModelError } from "../../../core/models/model_error.ts";
import { DEFAULT_LOCK_PATH, resolveModel } from "../../../core/models/registry.ts";
import { S3Store } from "../../../core/store/s3_store.ts";
import { repoFromDir, startHubServer, TINY_DIR, TINY_FILES } from "../../helpers/hub_server.ts";
import { startS3Server } from "../../helpers/s3_server.ts";

const REPO = "test-org/tiny-sd2";
const COMMIT = "0badc0de0123456789abcdef0123456789abcdef";
const ROOT = join(DEFAULT_LOCK_PATH, "..");
const UNET = "unet/diffusion_pytorch_model.safetensors";
const code = (c: string) => (e: unknown) => e instanceof ModelError && e.code === c;

/** The fixture's pins. */
const PINS: Record<string, LockedFile> = {};
for (const p of TINY_FILES) PINS[p] = await hashFile(join(TINY_DIR, p));

async function tinyLock(): Promise<ModelsLock> {
  const files = { ...PINS };
  await Promise.resolve();
  return {
    version: 1,
    models: {
      "tiny-hub": { source: { repo: REPO, revision: COMMIT }, format: "diffusers", files },
    },
  };
}

/** Nothing listens here: a Hub that cannot be reached. */
const NO_HUB = "http://127.0.0.1:9";

Deno.test("a Hugging Face cache folder is a mirror: a second cache fills from it, not the Hub", async () => {
  const hub = await startHubServer({ [REPO]: await repoFromDir(TINY_DIR, TINY_FILES, COMMIT) });
  const first = await Deno.makeTempDir();
  const second = await Deno.makeTempDir();
  try {
    const lock = await tinyLock();
    await resolveModel("tiny-hub", {
      lock,
      root: ROOT,
      hubUrl: hub.url,
      cacheDir: first,
      mirror: null,
    });
    const seen: string[] = [];
    const m = await resolveModel("tiny-hub", {
      lock,
      root: ROOT,
      hubUrl: NO_HUB,
      cacheDir: second,
      offline: true,
      mirror: openMirror(first),
      onProgress: (p) => seen.push(`${p.status}:${p.from ?? "hub"}`),
    });
    assert.equal(seen.filter((s) => s === "downloaded:mirror").length, TINY_FILES.length);
    assert.ok(m.dir.startsWith(second) && m.revision === COMMIT && m.locked);
    // Standard layout: the snapshot file links to blobs/<sha256>.
    const link = await Deno.readLink(join(m.dir, UNET));
    assert.equal(link, `../../../blobs/${PINS[UNET]!.sha256}`);
    await loadDiffusersCheckpoint(m.dir);
    // Present and verified now: a third resolution reads nothing from the mirror.
    seen.length = 0;
    await resolveModel("tiny-hub", {
      lock,
      root: ROOT,
      hubUrl: NO_HUB,
      cacheDir: second,
      offline: true,
      mirror: openMirror("/nonexistent-mirror"),
      onProgress: (p) => seen.push(p.status),
    });
    assert.ok(seen.every((s) => s === "cached"));
  } finally {
    await hub.close();
    await Deno.remove(first, { recursive: true });
    await Deno.remove(second, { recursive: true });
  }
});

Deno.test("a tampered mirror is refused by sha256 and nothing of it is kept", async () => {
  const mirrorDir = await Deno.makeTempDir();
  const cache = await Deno.makeTempDir();
  try {
    const lock = await tinyLock();
    const mirror = openMirror(`file://${mirrorDir}`);
    for (const p of TINY_FILES) await mirror.write(mirrorKey(REPO, COMMIT, p), join(TINY_DIR, p));
    // Same size, one byte changed: only the sha256 can tell.
    const bad = join(mirrorDir, mirrorKey(REPO, COMMIT, UNET));
    const bytes = await Deno.readFile(bad);
    bytes[bytes.length - 1]! ^= 1;
    await Deno.writeFile(bad, bytes);
    const opts = { lock, root: ROOT, hubUrl: NO_HUB, cacheDir: cache, offline: true, mirror };
    await assert.rejects(resolveModel("tiny-hub", opts), (e: unknown) => {
      assert.ok(code("corrupt")(e), String(e));
      assert.match((e as Error).message, new RegExp(`${UNET}: sha256 [0-9a-f]{64} != `));
      assert.match((e as Error).message, /from mirror file:\/\//);
      return true;
    });
    const repoDir = join(cache, "models--test-org--tiny-sd2");
    const blobs = [...Deno.readDirSync(join(repoDir, "blobs"))].map((e) => e.name);
    const pins = Object.values(PINS).map((f) => f.sha256);
    assert.ok(blobs.every((b) => pins.includes(b)), `only verified blobs: ${blobs}`);
    await assert.rejects(Deno.lstat(join(repoDir, "snapshots", COMMIT, UNET)));
    // A longer file is cut off at its pinned size and refused too.
    await Deno.writeFile(bad, new Uint8Array(bytes.length + 10));
    const pin = PINS[UNET]!;
    await assert.rejects(
      fetchFromMirror(
        mirror,
        "tiny-hub",
        repoDir,
        mirrorKey(REPO, COMMIT, UNET),
        join(cache, "x"),
        pin,
      ),
      /size > \d+ != \d+/,
    );
  } finally {
    await Deno.remove(mirrorDir, { recursive: true });
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("a file the mirror lacks comes from the Hub; an S3 mirror (s3rver) serves the rest", async () => {
  const hub = await startHubServer({ [REPO]: await repoFromDir(TINY_DIR, TINY_FILES, COMMIT) });
  const s3 = await startS3Server("models");
  const cache = await Deno.makeTempDir();
  try {
    const env = {
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
      DD_MODEL_MIRROR: "s3://models/mirror",
    };
    const mirror = mirrorFromEnv(env)!;
    assert.equal(mirror.url, "s3://models/mirror");
    const missing = "tokenizer/vocab.json";
    for (const p of TINY_FILES.filter((p) => p !== missing)) {
      await mirror.write(mirrorKey(REPO, COMMIT, p), join(TINY_DIR, p));
    }
    const store = S3Store.fromUrl("s3://models/mirror", env);
    assert.equal((await store.list("models--test-org--tiny-sd2/")).length, TINY_FILES.length - 1);
    const from = new Map<string, string>();
    const m = await resolveModel("tiny-hub", {
      lock: await tinyLock(),
      root: ROOT,
      hubUrl: hub.url,
      cacheDir: cache,
      mirror,
      onProgress: (p) => p.status === "downloaded" && from.set(p.path, p.from ?? "hub"),
    });
    assert.equal(from.get(missing), "hub");
    assert.equal([...from.values()].filter((f) => f === "mirror").length, TINY_FILES.length - 1);
    assert.ok(hub.requests.some((r) => r.includes(missing)));
    assert.ok(!hub.requests.some((r) => r.includes("resolve") && r.includes(UNET)));
    await loadDiffusersCheckpoint(m.dir);
  } finally {
    await hub.close();
    await s3.close();
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("openMirror() and mirrorFromEnv(): URLs, folders, refusals", () => {
  assert.equal(mirrorFromEnv({}), null);
  assert.equal(mirrorFromEnv({ DD_MODEL_MIRROR: " " }), null);
  assert.equal(openMirror("file:///srv/m").url, "file:///srv/m");
  assert.throws(() => openMirror("https://example.com/m"), code("invalid"));
  assert.throws(() => openMirror("s3://bucket/p", {}), (e: unknown) => {
    assert.ok(code("invalid")(e));
    assert.match((e as Error).message, /AWS_ACCESS_KEY_ID/);
    return true;
  });
});

Deno.test("model resolution from each source: Hub, mirror, folder, embedded", async () => {
  const hub = await startHubServer({ [REPO]: await repoFromDir(TINY_DIR, TINY_FILES, COMMIT) });
  const [fromHub, fromMirror] = [await Deno.makeTempDir(), await Deno.makeTempDir()];
  try {
    const lock = await tinyLock();
    const base = { lock, root: ROOT, mirror: null };
    const a = await resolveModel("tiny-hub", { ...base, hubUrl: hub.url, cacheDir: fromHub });
    assert.ok(a.dir.startsWith(fromHub) && a.locked);
    const requests = hub.requests.length;
    const b = await resolveModel("tiny-hub", {
      ...base,
      hubUrl: hub.url,
      cacheDir: fromMirror,
      mirror: openMirror(fromHub),
    });
    assert.ok(b.dir.startsWith(fromMirror) && b.revision === COMMIT);
    assert.equal(hub.requests.length, requests, "the mirror, not the Hub");
    const c = await resolveModel(TINY_DIR, { ...base, allowUnlocked: true });
    assert.deepEqual([c.revision, c.locked], ["local", false]);
    const d = await resolveModel("dd-world-tiny", { offline: true, mirror: null });
    assert.ok(d.dir.endsWith("core/models/embedded/dd-world-tiny") && d.locked);
    assert.match(d.revision, /^sha256-[0-9a-f]{16}$/);
  } finally {
    await hub.close();
    await Deno.remove(fromHub, { recursive: true });
    await Deno.remove(fromMirror, { recursive: true });
  }
});
