/**
 * `deno task export-embeddings (--dist ID|PATH | --mix ID:W,ID:W) --n 16 --gamma 1
 *  [--prompt "{} on the beach"] --out FILE.safetensors`
 *
 * Writes sampled text features as safetensors for other pipelines that share the text
 * encoder: `c_tilde` [n, L, d] (a fresh sample per row) and `uncond` [1, L, d] (the
 * encoding of the negative prompt, "" by default), with the model and gamma as metadata.
 *
 * @module
 */
import { dirname } from "node:path";
import { Engine } from "../engine/mod.ts";
import {
  defineTask,
  type OptionTable,
  required,
  runMain,
  type TaskMain,
  UsageError,
} from "./_cli.ts";
import { FEATURE_OPTIONS, featureRequest, openSelection, parseSelection } from "./_dist_args.ts";
import { DEFAULT_MODEL, resolveModel } from "./_models.ts";

const OPTIONS: OptionTable = {
  ...FEATURE_OPTIONS,
  out: { type: "string", arg: "FILE.safetensors", help: "output file, required" },
};

const USAGE = "usage: deno task export-embeddings (--dist ID|PATH | --mix ID:W,ID:W)\n" +
  "         --out FILE.safetensors [options]";

/** Runs the task on `args`; returns the exit code. */
export const main: TaskMain = defineTask({
  usage: USAGE,
  about:
    "Writes sampled text features c~ [n, L, d] and the unconditional features uncond [1, L, d]\n" +
    "as float32 safetensors.",
  options: OPTIONS,
  run: async ({ values, io }) => {
    const selection = parseSelection(values);
    const req = { ...featureRequest(values), mixMode: selection.mixMode, steps: 1, guidance: 1 };
    const out = required(values, "out");
    if (!out.toLowerCase().endsWith(".safetensors")) {
      throw new UsageError(`--out must name a .safetensors file, got ${JSON.stringify(out)}`);
    }
    const { store, distributions } = await openSelection(selection);
    const engine = new Engine({ store, resolveModel, defaultModel: DEFAULT_MODEL, cacheDir: null });
    try {
      let L = 0, d = 0;
      for (const { id } of distributions) ({ manifest: { L, d } } = await engine.get(id));
      const bytes = await engine.embeddings({ ...req, distributions });
      await Deno.mkdir(dirname(out), { recursive: true });
      const tmp = `${out}.tmp-${crypto.randomUUID()}`;
      await Deno.writeFile(tmp, bytes);
      await Deno.rename(tmp, out);
      io.out(
        `wrote ${out}: c_tilde [${req.n}, ${L}, ${d}], uncond [1, ${L}, ${d}] (${bytes.length} bytes)`,
      );
      return 0;
    } finally {
      await engine.close();
    }
  },
});

if (import.meta.main) await runMain(main);
