/**
 * `deno task export-onnx --model NAME|DIR --out DIR [--variant fp16] [--latent-size N] [--force]`
 *
 * Converts a diffusers checkpoint, without Python, into an ONNX export folder in the optimum
 * layout (text_encoder/model.onnx and embeds.onnx, unet/, vae_decoder/, vae_encoder/, each
 * with its weights.bin; tokenizer/, scheduler/, README.md). See core/export.
 *
 * @module
 */
import { writeOnnxFolder } from "../export/mod.ts";
import {
  defineTask,
  num,
  type OptionTable,
  required,
  runMain,
  str,
  type TaskMain,
} from "./_cli.ts";
import { DEFAULT_MODEL, MODEL_OPTION, resolveModel } from "./_models.ts";
import { countProgress } from "./_progress.ts";

const OPTIONS: OptionTable = {
  ...MODEL_OPTION,
  out: { type: "string", arg: "DIR", help: "output folder, required (must be empty or absent)" },
  variant: { type: "string", arg: "NAME", help: 'weight variant, e.g. "fp16" (default: none)' },
  "latent-size": {
    type: "string",
    arg: "N",
    default: "unet sample_size",
    help: "latent side the graphs are built for",
  },
  force: { type: "boolean", help: "replace a non-empty --out folder" },
};

const USAGE = "usage: deno task export-onnx --out DIR [--model NAME|DIR] [options]";

function megabytes(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${(n / 1e3).toFixed(0)} kB`;
}

/** Runs the task on `args`; returns the exit code. */
export const main: TaskMain = defineTask({
  usage: USAGE,
  about: "Writes the graphs core builds from a diffusers checkpoint as an ONNX export folder\n" +
    "(optimum layout), weights copied byte for byte into one weights.bin per component.",
  options: OPTIONS,
  run: async ({ values, io }) => {
    const out = required(values, "out");
    const latentSize = str(values, "latent-size") === undefined
      ? undefined
      : num(values, "latent-size", 0, { integer: true, min: 1, max: 1024 });
    const name = str(values, "model") ?? DEFAULT_MODEL;
    const model = await resolveModel(name);
    const t0 = performance.now();
    const progress = countProgress("export", io, t0);
    const variant = str(values, "variant");
    const written = await writeOnnxFolder(model.dir, out, {
      overwrite: values.force === true,
      source: { name, revision: model.revision },
      ...(variant ? { variant } : {}),
      ...(latentSize ? { latentSize } : {}),
      onProgress: progress.onProgress,
    }).finally(progress.finish);
    const parts = written.map((c) =>
      `${c.folder} (${c.models.join(", ")}, ${megabytes(c.weightBytes)})`
    );
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    io.out(`wrote ${out}: ${parts.join("; ")} in ${secs}s`);
    return 0;
  },
});

if (import.meta.main) await runMain(main);
