/**
 * `deno task export-ti --dist ID|PATH [--prompts 0,3,5] [--fp16] [--name NAME] --out DIR`
 *
 * Writes each learned prompt k of a distribution as a textual-inversion embedding that
 * AUTOMATIC1111 and ComfyUI load: `DIR/<name>-k<kk>.safetensors`, one tensor `emb_params`
 * [M, d] (core/export/textual_inversion.ts gives the layout and its sources). One embedding
 * carries one prompt, not the distribution.
 *
 * @module
 */
import { join } from "node:path";
import { loadDistribution } from "../artifacts/mod.ts";
import { textualInversionFiles } from "../export/mod.ts";
import {
  helpText,
  type OptionTable,
  parseNumber,
  parseOptions,
  required,
  runTask,
  str,
  UsageError,
} from "./_cli.ts";
import { openSelection, parseSelection } from "./_dist_args.ts";

const OPTIONS: OptionTable = {
  dist: { type: "string", arg: "ID|PATH", help: "a distribution id in --store, or its folder" },
  store: { type: "string", arg: "STORE_URL", default: "./.data", help: "store of the ids" },
  prompts: {
    type: "string",
    arg: "K,K,...",
    help: "which prompts (0-based), comma-separated (default: all K)",
  },
  fp16: { type: "boolean", help: "store float16 instead of float32" },
  name: {
    type: "string",
    arg: "NAME",
    help: "trigger word and file name base: NAME-k00 ... (default: the distribution id)",
  },
  out: {
    type: "string",
    arg: "DIR",
    help: "output folder (e.g. the tool's embeddings/), required",
  },
  help: { type: "boolean", short: "h", help: "show this help" },
};

const USAGE = "usage: deno task export-ti --dist ID|PATH --out DIR [options]";
const HELP = helpText(
  USAGE,
  "Writes each learned prompt as a textual-inversion embedding (safetensors, emb_params [M, d])\n" +
    "for AUTOMATIC1111 (embeddings/, prompt word NAME-k00) and ComfyUI (models/embeddings/,\n" +
    "embedding:NAME-k00). One file carries one prompt: the distribution itself (mu, sigma, a\n" +
    "fresh draw per image) does not carry over.",
  OPTIONS,
);

/** Runs the task on `args`; returns the exit code. */
export function main(args: string[]): Promise<number> {
  return runTask(async () => {
    const { values } = parseOptions(args, OPTIONS);
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    const out = required(values, "out");
    required(values, "dist");
    const list = str(values, "prompts");
    const prompts = list?.split(",").map((p) =>
      parseNumber("--prompts", p, { integer: true, min: 0 })
    );
    const { store, distributions } = await openSelection(parseSelection(values));
    const { manifest, tensors } = await loadDistribution(store, distributions[0]!.id);
    let files;
    try {
      files = textualInversionFiles(manifest, tensors, {
        ...(prompts ? { prompts } : {}),
        dtype: values.fp16 ? "float16" : "float32",
        ...(str(values, "name") !== undefined ? { name: str(values, "name")! } : {}),
      });
    } catch (e) {
      if (e instanceof RangeError) throw new UsageError(`--prompts/--name: ${e.message}`);
      throw e;
    }
    await Deno.mkdir(out, { recursive: true });
    for (const f of files) {
      const path = join(out, f.fileName);
      const tmp = `${path}.tmp-${crypto.randomUUID()}`;
      await Deno.writeFile(tmp, f.bytes);
      await Deno.rename(tmp, path);
      console.log(path);
    }
    console.error(
      `wrote ${files.length} of ${manifest.K} prompts as emb_params [${manifest.M}, ${manifest.d}] ` +
        `(${values.fp16 ? "float16" : "float32"}, model ${manifest.model.name})`,
    );
    return 0;
  });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
