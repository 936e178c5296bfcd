/**
 * `deno task sample --dist ID|PATH [--mix ID:0.3,ID:0.7] --n 16 --gamma 1
 *  --prompt "{} on the beach" --seed 1 --grid out.png --out DIR`
 *
 * Generates images from a learned distribution (or a weighted mix): one PNG per image in
 * --out (sample_000.png, ...) and/or a grid PNG. All arguments are checked, and the
 * distributions loaded, before the model is.
 *
 * @module
 */
import { join } from "node:path";
import { Engine } from "../engine/mod.ts";
import { encodePng, makeGrid, type RgbImage } from "../images/mod.ts";
import {
  defineTask,
  num,
  type OptionTable,
  runMain,
  str,
  type TaskMain,
  UsageError,
  withInterrupt,
} from "./_cli.ts";
import { FEATURE_OPTIONS, featureRequest, openSelection, parseSelection } from "./_dist_args.ts";
import { DEFAULT_MODEL, resolveModel } from "./_models.ts";
import { SAMPLING_OPTIONS, samplingArgs } from "./_sampling_args.ts";
import { countProgress } from "./_progress.ts";

const OPTIONS: OptionTable = {
  ...FEATURE_OPTIONS,
  ...SAMPLING_OPTIONS,
  "batch-size": { type: "string", arg: "N", default: "4", help: "images denoised together" },
  out: { type: "string", arg: "DIR", help: "write sample_000.png, sample_001.png, ... here" },
  grid: { type: "string", arg: "FILE.png", help: "write all images as one grid PNG" },
};

const USAGE = "usage: deno task sample (--dist ID|PATH | --mix ID:W,ID:W) [--out DIR] " +
  "[--grid FILE.png] [options]";

/** Columns of a square-ish grid of n images. */
export function gridColumns(n: number): number {
  return Math.ceil(Math.sqrt(n));
}

/** Runs the task on `args`; returns the exit code. */
export const main: TaskMain = defineTask({
  usage: USAGE,
  about:
    "Generates images from a learned prompt distribution, a fresh c~ per image. At least one\n" +
    "of --out and --grid is required.",
  options: OPTIONS,
  run: async ({ values, io }) => {
    const selection = parseSelection(values);
    const req = {
      ...featureRequest(values),
      ...samplingArgs(values),
      batchSize: num(values, "batch-size", 4, { integer: true, min: 1, max: 64 }),
      mixMode: selection.mixMode,
    };
    const outDir = str(values, "out"), grid = str(values, "grid");
    if (outDir === undefined && grid === undefined) {
      throw new UsageError("give --out DIR and/or --grid FILE.png (see --help)");
    }
    if (grid !== undefined && !grid.toLowerCase().endsWith(".png")) {
      throw new UsageError(`--grid must name a .png file, got ${JSON.stringify(grid)}`);
    }
    const { store, distributions } = await openSelection(selection);
    const engine = new Engine({ store, resolveModel, defaultModel: DEFAULT_MODEL, cacheDir: null });
    try {
      for (const { id } of distributions) await engine.get(id); // fail before loading a model
      const progress = countProgress("sample", io);
      const images: RgbImage[] = await withInterrupt((signal) =>
        engine.sample({ ...req, distributions }, {
          signal,
          onProgress: progress.onProgress,
        }).finally(progress.finish)
      );
      const written: string[] = [];
      if (outDir !== undefined) {
        await Deno.mkdir(outDir, { recursive: true });
        for (const [i, img] of images.entries()) {
          const path = join(outDir, `sample_${String(i).padStart(3, "0")}.png`);
          await Deno.writeFile(path, encodePng(img));
          written.push(path);
        }
      }
      let gridNote = "";
      if (grid !== undefined) {
        const cols = gridColumns(images.length);
        const rows = Array.from(
          { length: Math.ceil(images.length / cols) },
          (_, r) => images.slice(r * cols, (r + 1) * cols),
        );
        const g = makeGrid(rows);
        await Deno.writeFile(grid, encodePng(g));
        gridNote = `${written.length ? " and " : ""}grid ${grid} (${g.width}x${g.height})`;
      }
      const range = written.length > 1
        ? `sample_000.png .. ${written.at(-1)!.split("/").pop()}`
        : "sample_000.png";
      const files = written.length ? `${written.length} images to ${outDir} (${range})` : "";
      io.out(`wrote ${files}${gridNote}`);
      return 0;
    } finally {
      await engine.close();
    }
  },
});

if (import.meta.main) await runMain(main);
