/** `deno task models:fetch`: a line per file, the folder at the end, one-line errors. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { hashFile, writeModelsLock } from "../../../core/models/lock.ts";
import { main } from "../../../core/tasks/models_fetch.ts";
import { repoFromDir, startHubServer, TINY_DIR, TINY_FILES } from "../../helpers/hub_server.ts";

const REPO = "test-org/tiny-sd2";
const COMMIT = "00112233445566778899aabbccddeeff00112233";

Deno.test("models:fetch downloads a locked model with a line per file", async () => {
  const hub = await startHubServer({ [REPO]: await repoFromDir(TINY_DIR, TINY_FILES, COMMIT) });
  const dir = await Deno.makeTempDir();
  try {
    const files: Record<string, { sha256: string; size: number }> = {};
    for (const p of TINY_FILES) files[p] = await hashFile(join(TINY_DIR, p));
    const lockPath = join(dir, "models.lock");
    await writeModelsLock(lockPath, {
      version: 1,
      models: {
        tiny: { source: { repo: REPO, revision: COMMIT }, format: "diffusers", files },
        "org/later": { pending: true, source: { repo: "org/later" }, format: "diffusers" },
      },
    });
    const env = { HF_ENDPOINT: hub.url, HF_HUB_CACHE: join(dir, "cache") };
    let lines: string[] = [];
    const errors: string[] = [];
    const io = { env, out: (l: string) => lines.push(l), err: (l: string) => errors.push(l) };
    assert.equal(await main(["tiny", "--lock", lockPath], io), 0, errors.join());
    assert.equal(lines.length, TINY_FILES.length + 1);
    assert.equal(lines[0], "[ 1/12] model_index.json  536 B  downloaded");
    assert.match(
      lines.at(-1)!,
      /^tiny: .*models--test-org--tiny-sd2\/snapshots\/00112233.* verified/,
    );
    lines = [];
    assert.equal(await main(["tiny", "--lock", lockPath], io), 0);
    assert.ok(lines.slice(0, -1).every((l) => l.endsWith("cached")));

    assert.equal(await main(["org/later", "--lock", lockPath], io), 1);
    assert.equal(await main(["not/there", "--lock", lockPath], io), 1);
    assert.equal(await main([], io), 1);
    assert.equal(errors.length, 3);
    assert.match(errors[0]!, /^models:fetch: model org\/later is pending .*models:lock org\/later/);
    assert.match(errors[1]!, /^models:fetch: model "not\/there" is not in models\.lock/);
    assert.ok(errors.every((e) => !e.includes("\n")));
  } finally {
    await hub.close();
    await Deno.remove(dir, { recursive: true });
  }
});
