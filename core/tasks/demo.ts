/**
 * `deno task demo`: learns a prompt distribution from shipped-by-code reference images of a
 * concept no single caption names (core/world), with the product's default method, then
 * writes one grid PNG with a label on every row: the references, samples at gamma 0, 1 and 2,
 * Textual Inversion on the same references for contrast, a text-edited template, and a 50/50
 * mix with a second concept.
 *
 * It runs on the embedded default model (core/models/embedded/dd-world-tiny, pinned in
 * models.lock) unless `--model` names another.
 * @module
 */
import { join } from "node:path";
import { Engine } from "../engine/mod.ts";
import type { ResolvedModel } from "../models/mod.ts";
import { drawText, encodePng, makeGrid, type RgbImage, textWidth } from "../images/mod.ts";
import { FsStore } from "../store/mod.ts";
import { CONCEPTS } from "../world/mod.ts";
import { defineTask, isDirectory, num, runMain, str, type TaskMain, UsageError } from "./_cli.ts";
import { DEFAULT_MODEL, MODEL_OPTION, resolveModel, resolverWith } from "./_models.ts";
import { ProgressBar } from "./_progress.ts";

/**
 * The grid with a white label column on its left, one label centred on each row of tiles
 * (rows `tile` pixels high, `pad` apart, as makeGrid lays them out).
 */
function labelRows(grid: RgbImage, labels: string[], tile: number, pad: number): RgbImage {
  const margin = Math.max(...labels.map((l) => textWidth(l))) + 2 * pad + 2;
  const width = grid.width + margin, data = new Uint8Array(width * grid.height * 3).fill(255);
  for (let y = 0; y < grid.height; y++) {
    data.set(
      grid.data.subarray(y * grid.width * 3, (y + 1) * grid.width * 3),
      (y * width + margin) * 3,
    );
  }
  const out = { width, height: grid.height, data };
  labels.forEach((label, r) => {
    const top = pad + r * (tile + pad) + Math.floor((tile - 7) / 2);
    drawText(out, label, pad + 1, top, [32, 32, 32]);
  });
  return out;
}

/** Nearest-neighbour enlargement, so 32-pixel tiles are visible. */
function upscale(img: RgbImage, f: number): RgbImage {
  if (f === 1) return img;
  const w = img.width * f, h = img.height * f, data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const src = ((Math.floor(y / f) * img.width) + Math.floor(x / f)) * 3;
      data.set(img.data.subarray(src, src + 3), (y * w + x) * 3);
    }
  }
  return { width: w, height: h, data };
}

/** Runs the demo; returns the exit code. */
export const main: TaskMain = defineTask({
  usage: "usage: deno task demo [--out FILE.png] [--model NAME|DIR] [--steps N] [--scale N] " +
    "[--seed N]",
  about: "Learns prompt distributions from procedural references (core/world) and writes one\n" +
    "labelled grid PNG: references, samples at gamma 0/1/2, Textual Inversion, a text-edited\n" +
    "template and a 50/50 mix with a second concept.",
  options: {
    out: { type: "string", arg: "FILE.png", default: "demo.png", help: "grid PNG to write" },
    ...MODEL_OPTION,
    steps: { type: "string", arg: "N", default: "150", help: "training steps per distribution" },
    scale: { type: "string", arg: "N", default: "3", help: "nearest-neighbour enlargement" },
    seed: { type: "string", arg: "N", default: "0", help: "seed of references and sampling" },
  },
  run: async ({ values: v, io }) => {
    const values = {
      out: str(v, "out") ?? "demo.png",
      seed: num(v, "seed", 0, { integer: true, min: 0 }),
      steps: num(v, "steps", 150, { integer: true, min: 1 }),
      scale: num(v, "scale", 3, { integer: true, min: 1, max: 16 }),
    };
    // Checked before a minute of training, not when the grid is written.
    if (await isDirectory(values.out)) {
      throw new UsageError(`--out ${values.out} is a directory; give a PNG file path`);
    }
    const t0 = performance.now();
    const name = str(v, "model") ?? DEFAULT_MODEL;
    let model: { name: string; files: ResolvedModel };
    try {
      model = { name, files: await resolveModel(name) }; // resolved once, before any work
    } catch (e) {
      throw new Error(`model ${name}: ${(e as Error).message.split("\n")[0]}`);
    }
    return await demo(values, model, t0, io);
  },
});

async function demo(
  values: { out: string; seed: number; steps: number; scale: number },
  model: { name: string; files: ResolvedModel },
  t0: number,
  io: { out: (line: string) => void; progress: (text: string) => void; tty: boolean },
): Promise<number> {
  const storeDir = await Deno.makeTempDir({ prefix: "dd-demo-" });
  const engine = new Engine({
    store: new FsStore(storeDir),
    resolveModel: resolverWith(model),
    defaultModel: model.name,
    cacheDir: join(storeDir, "cache"),
  });
  try {
    const { seed, steps } = values;
    const encode = (c: keyof typeof CONCEPTS) =>
      CONCEPTS[c].referenceImages(seed, 12).map((r, i) => ({
        bytes: encodePng(r.image),
        name: `${c}-${i}`,
      }));
    const main = CONCEPTS["warm-shapes-dark"], other = CONCEPTS["cool-squares"];
    // The product's default method (see the README's evaluation), at demo sizes; S and the
    // objective are the model's and the product's defaults, as the evaluation trained them.
    const options = { K: 8, M: 2, batchSize: 4, steps, lr: 5e-3, seed };
    const bar = new ProgressBar({
      total: steps * 3,
      label: "train",
      write: io.progress,
      tty: io.tty,
    });
    let done = 0;
    const onProgress = (p: { loss: number }) => bar.update(++done, { loss: p.loss });
    const a = await engine.train({ images: encode(main.name as keyof typeof CONCEPTS), options }, {
      onProgress,
    });
    const b = await engine.train({ images: encode(other.name as keyof typeof CONCEPTS), options }, {
      onProgress,
    });
    const ti = await engine.train({
      images: encode(main.name as keyof typeof CONCEPTS),
      options: { ...options, mode: "textual_inversion" },
    }, { onProgress });
    bar.finish();
    const row = (gamma: number, extra: Partial<Parameters<Engine["sample"]>[0]> = {}) =>
      engine.sample({
        distributions: [{ id: a.id, weight: 1 }],
        gamma,
        n: 8,
        seed,
        steps: 25,
        ...extra,
      });
    const refs: RgbImage[] = main.referenceImages(seed, 8).map((r) => r.image);
    const rows: [string, RgbImage[]][] = [
      ["references", refs],
      ["gamma 0", await row(0)],
      ["gamma 1", await row(1)],
      ["gamma 2", await row(2)],
      ["textual inversion", await row(1, { distributions: [{ id: ti.id, weight: 1 }] })],
      ["template: two []", await row(1, { template: "two {}" })],
      [
        `mix: 50% ${other.name}`,
        await row(1, { distributions: [{ id: a.id, weight: 0.5 }, { id: b.id, weight: 0.5 }] }),
      ],
    ];
    const pad = 2, tile = refs[0]!.height;
    const grid = labelRows(
      makeGrid(rows.map(([, r]) => r), { pad }),
      rows.map(([l]) => l),
      tile,
      pad,
    );
    await Deno.writeFile(
      values.out,
      encodePng(upscale(grid, values.scale)),
    );
    io.out(
      `wrote ${values.out}: rows = references (${main.name}), gamma 0, gamma 1, gamma 2, ` +
        `Textual Inversion, template "two {}", 50/50 mix with ${other.name}; model ${model.name}; ` +
        `${((performance.now() - t0) / 1000).toFixed(0)} s`,
    );
    return 0;
  } finally {
    await engine.close();
    await Deno.remove(storeDir, { recursive: true });
  }
}

if (import.meta.main) await runMain(main);
