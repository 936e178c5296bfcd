/**
 * `deno task tokenize --dir TOKENIZER_DIR TEXT...`
 *
 * Prints one JSON array of token ids per TEXT, one per line, without the start and end
 * tokens and without padding or truncation (ClipTokenizer.encode, as openai/CLIP's
 * `SimpleTokenizer().encode`). `--padded` prints what a pipeline feeds the text encoder
 * instead: `[BOS] ids [EOS]` padded to the model's length.
 *
 * @module
 */
import { ClipTokenizer } from "../tokenizer/mod.ts";
import { defineTask, isDirectory, required, runMain, type TaskMain, UsageError } from "./_cli.ts";

/** Runs the task on `args`; returns the exit code. */
export const main: TaskMain = defineTask({
  usage: "usage: deno task tokenize --dir TOKENIZER_DIR [--padded] TEXT...",
  about: "Prints one JSON array of CLIP token ids per TEXT (one line each), without start and\n" +
    "end tokens. TOKENIZER_DIR holds vocab.json and merges.txt (a model's tokenizer/ folder).",
  positionals: true,
  options: {
    dir: { type: "string", arg: "DIR", help: "tokenizer folder, required" },
    padded: {
      type: "boolean",
      help: "print [BOS] ids [EOS] padded to the tokenizer's model_max_length instead",
    },
  },
  run: async ({ values, positionals, io }) => {
    const dir = required(values, "dir");
    if (positionals.length === 0) throw new UsageError("give at least one TEXT (see --help)");
    if (!(await isDirectory(dir))) throw new UsageError(`tokenizer folder not found: ${dir}`);
    const tokenizer = await ClipTokenizer.fromDir(dir);
    for (const text of positionals) {
      const ids = values.padded ? tokenizer.encodePadded(text) : tokenizer.encode(text);
      io.out(JSON.stringify(ids));
    }
    return 0;
  },
});

if (import.meta.main) await runMain(main);
