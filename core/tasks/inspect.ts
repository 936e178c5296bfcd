/**
 * `deno task inspect ID|PATH [--store STORE_URL] [--top 5]`
 *
 * Prints a stored distribution: its manifest in short, the training loss curve as a
 * sparkline with first/last/min values, and for each of the K x M learned vectors the
 * nearest vocabulary tokens by cosine similarity against the model's token-embedding table
 * (as the authors' interpretation tool lists the words nearest to each context vector).
 *
 * @module
 */
import type { Manifest } from "../artifacts/mod.ts";
import { readTokenTable } from "../distribution/mod.ts";
import { Engine } from "../engine/mod.ts";
import {
  defineTask,
  num,
  type OptionTable,
  runMain,
  str,
  type TaskMain,
  UsageError,
} from "./_cli.ts";
import { openSelection } from "./_dist_args.ts";
import { DEFAULT_MODEL, resolveModel } from "./_models.ts";

const OPTIONS: OptionTable = {
  store: { type: "string", arg: "STORE_URL", default: "./.data", help: "store of the id" },
  top: { type: "string", arg: "N", default: "5", help: "nearest tokens listed per vector" },
};

const USAGE = "usage: deno task inspect ID|PATH [--store STORE_URL] [--top N]";

const BARS = "▁▂▃▄▅▆▇█";

/**
 * A one-line sparkline of `values`, averaged into at most `width` buckets.
 * @example
 * ```ts
 * import { sparkline } from "./inspect.ts";
 * console.assert(sparkline([0, 1]) === "▁█");
 * ```
 */
export function sparkline(values: number[], width = 60): string {
  if (values.length === 0) return "";
  const n = Math.min(width, values.length);
  const buckets = Array.from({ length: n }, (_, i) => {
    const a = Math.floor((i * values.length) / n), b = Math.floor(((i + 1) * values.length) / n);
    const part = values.slice(a, Math.max(b, a + 1));
    return part.reduce((s, v) => s + v, 0) / part.length;
  });
  const lo = Math.min(...buckets), hi = Math.max(...buckets);
  return buckets.map((v) => BARS[hi > lo ? Math.min(7, Math.floor(((v - lo) / (hi - lo)) * 8)) : 3])
    .join("");
}

/**
 * The `top` rows of `table` [vocab, d] nearest to `v` [d] by cosine similarity.
 * @example
 * ```ts
 * import { nearestTokens } from "./inspect.ts";
 * const table = Float32Array.from([1, 0, 0, 1, 1, 1]);
 * console.assert(nearestTokens(table, 2, Float32Array.from([0, 2]), 1)[0]!.id === 1);
 * ```
 */
export function nearestTokens(
  table: Float32Array,
  d: number,
  v: Float32Array,
  top: number,
): { id: number; similarity: number }[] {
  const vocab = table.length / d;
  let vn = 0;
  for (let j = 0; j < d; j++) vn += v[j]! * v[j]!;
  vn = Math.sqrt(vn) || 1;
  const best: { id: number; similarity: number }[] = [];
  for (let i = 0; i < vocab; i++) {
    let dot = 0, rn = 0;
    for (let j = 0, o = i * d; j < d; j++, o++) {
      const t = table[o]!;
      dot += t * v[j]!;
      rn += t * t;
    }
    const sim = dot / (vn * (Math.sqrt(rn) || 1));
    if (best.length < top || sim > best[best.length - 1]!.similarity) {
      best.push({ id: i, similarity: sim });
      best.sort((a, b) => b.similarity - a.similarity);
      if (best.length > top) best.pop();
    }
  }
  return best;
}

function optionSummary(o: Record<string, unknown>): string {
  return Object.entries(o).filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === "string" ? JSON.stringify(v) : String(v)}`).join(" ");
}

/** The manifest and loss lines of the report. */
export function describeManifest(m: Manifest, storeUrl: string): string[] {
  const template = `${m.template.prefix} {} ${m.template.suffix}`.trim();
  const prompts = m.files["prompts.safetensors"];
  const curve = m.lossCurve;
  const lines = [
    `${m.id}  (${storeUrl})`,
    `  model       ${m.model.name} @ ${m.model.revision}`,
    `  created     ${m.createdAt}`,
    `  shape       K=${m.K} prompts x M=${m.M} vectors; features L=${m.L} x d=${m.d}`,
    `  template    ${JSON.stringify(template)}`,
    `  options     ${optionSummary(m.options)}`,
    `  references  ${m.references.length} images`,
    `  file        prompts.safetensors ${prompts.size} bytes, sha256 ${
      prompts.sha256.slice(0, 16)
    }…`,
  ];
  if (curve.length === 0) return [...lines, "loss        (no steps recorded)"];
  const min = Math.min(...curve);
  lines.push(
    `loss        ${sparkline(curve)}`,
    `            ${curve.length} steps: first ${curve[0]!.toFixed(4)}, last ` +
      `${curve.at(-1)!.toFixed(4)}, min ${min.toFixed(4)} (step ${curve.indexOf(min) + 1})`,
  );
  return lines;
}

/** Runs the task on `args`; returns the exit code. */
export const main: TaskMain = defineTask({
  usage: USAGE,
  about:
    "Prints a distribution's manifest, its loss curve, and the vocabulary tokens nearest (cosine)\n" +
    "to each learned vector.",
  options: OPTIONS,
  positionals: true,
  run: async ({ values, positionals, io }) => {
    if (positionals.length !== 1) {
      throw new UsageError(`expected one distribution ID or PATH (see --help)`);
    }
    const top = num(values, "top", 5, { integer: true, min: 1, max: 100 });
    const { store, distributions } = await openSelection({
      entries: [{ ref: positionals[0]!, weight: 1 }],
      mixMode: "paper",
      storeUrl: str(values, "store") ?? "./.data",
    });
    const engine = new Engine({ store, resolveModel, defaultModel: DEFAULT_MODEL, cacheDir: null });
    try {
      const { manifest: m, tensors } = await engine.get(distributions[0]!.id);
      for (const line of describeManifest(m, store.url)) io.out(line);
      const model = await engine.model(m.model.name);
      const table = await readTokenTable(model.runtime.graphs);
      if (table.length % m.d !== 0) {
        throw new Error(`token table does not have rows of d=${m.d}`);
      }
      io.out(`nearest tokens (cosine similarity, top ${top}):`);
      for (let k = 0; k < m.K; k++) {
        for (let j = 0; j < m.M; j++) {
          const at = (k * m.M + j) * m.d;
          const v = tensors.ctx.data.subarray(at, at + m.d);
          const near = nearestTokens(table, m.d, v, top).map(({ id, similarity }) =>
            `${model.tokenizer.idToToken(id) ?? `#${id}`} ${similarity.toFixed(3)}`
          );
          io.out(`  prompt ${k} vector ${j}: ${near.join(", ")}`);
        }
      }
      return 0;
    } finally {
      await engine.close();
    }
  },
});

if (import.meta.main) await runMain(main);
