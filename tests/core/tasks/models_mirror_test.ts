/**
 * `deno task models:mirror`: a model pinned in a lock is fetched from a Hub stand-in, copied
 * to s3rver and verified; a second run sends nothing; a server-side cache then resolves it
 * from the S3 mirror alone; refusals (pending, folder entry, no --to).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { hashFile, writeModelsLock } from "../../../core/models/lock.ts";
import { mirrorFromEnv } from "../../../core/models/mirror.ts";
import { resolveModel } from "../../../core/models/registry.ts";
import { main } from "../../../core/tasks/models_mirror.ts";
import { repoFromDir, startHubServer, TINY_DIR, TINY_FILES } from "../../helpers/hub_server.ts";
import { startS3Server } from "../../helpers/s3_server.ts";

const REPO = "test-org/tiny-sd2";
const COMMIT = "1234567890abcdef1234567890abcdef12345678";

Deno.test("models:mirror copies a pinned model to S3, verifies it, and the mirror serves it", async () => {
  const hub = await startHubServer({ [REPO]: await repoFromDir(TINY_DIR, TINY_FILES, COMMIT) });
  const s3 = await startS3Server("models");
  const dir = await Deno.makeTempDir();
  try {
    const files: Record<string, { sha256: string; size: number }> = {};
    for (const p of TINY_FILES) files[p] = await hashFile(join(TINY_DIR, p));
    const lockPath = join(dir, "models.lock");
    await writeModelsLock(lockPath, {
      version: 1,
      models: {
        "tiny-hub": { source: { repo: REPO, revision: COMMIT }, format: "diffusers", files },
        "org/pending": { pending: true, source: { repo: "org/pending" }, format: "diffusers" },
        "tiny-path": { source: { path: "tiny" }, format: "diffusers", files },
      },
    });
    const s3env = {
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    };
    const env = { ...s3env, HF_ENDPOINT: hub.url, HF_HUB_CACHE: join(dir, "cache") };
    const lines: string[] = [];
    const errors: string[] = [];
    const io = { env, out: (l: string) => lines.push(l), err: (l: string) => errors.push(l) };
    const to = "s3://models/dd";
    assert.equal(await main(["tiny-hub", "--to", to, "--lock", lockPath], io), 0, errors.join());
    assert.equal(lines.filter((l) => l.endsWith("copied, verified")).length, TINY_FILES.length);
    assert.match(
      lines.at(-1)!,
      /^mirrored tiny-hub \(test-org\/tiny-sd2@1234.*: 12 files, \d+ bytes/,
    );
    assert.match(lines.at(-1)!, /DD_MODEL_MIRROR=s3:\/\/models\/dd$/);

    // Again: everything is there already, nothing is sent.
    lines.length = 0;
    assert.equal(await main(["tiny-hub", "--to", to, "--lock", lockPath], io), 0, errors.join());
    assert.equal(lines.filter((l) => l.endsWith("already there, verified")).length, 12);
    assert.match(lines.at(-1)!, / 0 sent /);

    // A fresh cache, the Hub gone: the S3 mirror alone serves the model.
    await hub.close();
    const m = await resolveModel("tiny-hub", {
      lockPath,
      hubUrl: "http://127.0.0.1:9",
      cacheDir: join(dir, "server-cache"),
      mirror: mirrorFromEnv({ ...s3env, DD_MODEL_MIRROR: to }),
    });
    assert.equal(m.revision, COMMIT);

    for (
      const [args, why] of [
        [["org/pending", "--to", to], /pending: pin it first/],
        [["tiny-path", "--to", to], /folder of this repository/],
        [["tiny-hub"], /--to .* is required/],
        [["nope", "--to", to], /not in models.lock/],
      ] as const
    ) {
      errors.length = 0;
      assert.equal(await main([...args, "--lock", lockPath], io), 1);
      assert.match(errors[0]!, why);
    }
  } finally {
    await hub.close().catch(() => {});
    await s3.close();
    await Deno.remove(dir, { recursive: true });
  }
});
