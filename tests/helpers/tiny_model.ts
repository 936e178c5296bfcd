/** Small models and inputs for method tests: the fixture checkpoints plus a toy tokenizer. */
import { loadDiffusersCheckpoint } from "../../core/models/checkpoint.ts";
import type { TemplateTokenizer } from "../../core/distribution/template.ts";
import type { TrainGraphSpec } from "../../core/distribution/train_graph.ts";
import type { RgbImage } from "../../core/images/types.ts";
import { parseSchedulerConfig, type SchedulerConfig } from "../../core/schedulers/config.ts";
import { FIXTURES } from "./fixtures.ts";

export const SD2_DIR = `${FIXTURES}diffusers-tiny-sd2`;

/** The fixture checkpoint built by core (vocab 1000: BOS 998, EOS 999, PAD 0). */
export function loadTinySd2() {
  return loadDiffusersCheckpoint(SD2_DIR);
}

export async function tinySchedulerConfig(): Promise<SchedulerConfig> {
  return parseSchedulerConfig(
    JSON.parse(await Deno.readTextFile(`${SD2_DIR}/scheduler/scheduler_config.json`)),
  );
}

/** A deterministic word-hash tokenizer over the fixture's 1000-id vocabulary (test double). */
export const toyTokenizer: TemplateTokenizer = {
  encode: (text: string) =>
    text.toLowerCase().split(/\s+/).filter((w) => w.length > 0).map((w) =>
      [...w].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) % 997, 7) + 1
    ),
  bosId: 998,
  eosId: 999,
  padId: 0,
};

/** Procedural 32x32 references: a coloured disc on a dark background. */
export function discImages(n: number, seed = 1): RgbImage[] {
  return Array.from({ length: n }, (_, i) => {
    const size = 32, data = new Uint8Array(size * size * 3);
    const cx = 10 + ((i * 7 + seed) % 12), cy = 10 + ((i * 5 + seed * 3) % 12), r = 5 + (i % 4);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const inside = (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
        const o = (y * size + x) * 3;
        data[o] = inside ? 220 : 20;
        data[o + 1] = inside ? 60 + 20 * (i % 3) : 20;
        data[o + 2] = inside ? 40 : 60;
      }
    }
    return { width: size, height: size, data };
  });
}

/**
 * A train-graph spec for the tiny SD2 model (K 3, M 2, S 2, batch 2; template rows: BOS, V and
 * 74 after), the paper's plain form; `over` changes what a test is about.
 */
export const tinyTrainSpec = (over: Partial<TrainGraphSpec> = {}): TrainGraphSpec => ({
  K: 3,
  M: 2,
  S: 2,
  batch: 2,
  beforeRows: 1,
  afterRows: 74,
  suffixRows: 0,
  lambda: 0,
  sigma: "unbiased",
  ortho: "paper",
  minSnr: false,
  omegaPerImage: false,
  bestPromptWeight: 0,
  lowRank: false,
  sampleSoftmin: 0,
  ...over,
});
