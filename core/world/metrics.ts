/**
 * Evaluation metrics on the shape world: fidelity and coverage of attribute combinations (on
 * analysed scenes), and Density and Coverage (Naeem et al. 2020, "Reliable Fidelity and
 * Diversity Metrics for Generative Models") on a fixed image embedding.
 *
 * The embedding (`embedImage`) is the image average-pooled to 8×8 cells of 4×4 pixels, RGB in
 * [0, 1]: 192 dimensions. Why this one: it is fixed (nothing learned, so no feature network can
 * be tuned toward a method); it is defined for any image, including generations the analyser
 * cannot read, so D&C do not inherit the analyser's failures; it is continuous, so the layout
 * jitter of the references keeps k-NN radii above zero (a one-hot attribute embedding puts many
 * references at distance 0, where the balls collapse); and every world attribute moves it
 * (background and colour through the cell means, position, count and size through which cells
 * change, kind through how much of the boundary cells it fills).
 *
 * @module
 */
import type { RgbImage } from "../images/mod.ts";
import { type Scene, sceneKey } from "./scene.ts";

/** Cells per side of `embedImage`'s pooling grid. */
export const EMBED_GRID = 8;
/** Length of `embedImage`'s vectors: 8 × 8 cells × 3 channels. */
export const EMBED_DIM = EMBED_GRID * EMBED_GRID * 3;

/**
 * Share of generated images whose analysed scene lies in the concept's support; null analyses
 * (unreadable images) count as outside.
 *
 * @throws RangeError when there are no generated scenes.
 * @example
 * ```ts
 * import { fidelity } from "./metrics.ts";
 * import { CONCEPTS } from "./concepts.ts";
 * const c = CONCEPTS["pairs-bottom"];
 * const [inside] = c.referenceScenes(0, 1);
 * console.assert(fidelity([inside!, null], c) === 0.5);
 * ```
 */
export function fidelity(
  generated: readonly (Scene | null)[],
  concept: { support(scene: Scene | null): boolean },
): number {
  if (generated.length === 0) throw new RangeError("fidelity: no generated scenes");
  return generated.filter((s) => concept.support(s)).length / generated.length;
}

/**
 * Share of the distinct attribute combinations among the reference scenes that appear among the
 * generated ones (null analyses match nothing).
 *
 * @throws RangeError when there are no reference scenes.
 * @example
 * ```ts
 * import { coverage } from "./metrics.ts";
 * const a = {
 *   kind: "circle", colour: "red", size: "small", count: "one", position: "top",
 *   background: "black",
 * } as const;
 * const b = { ...a, colour: "orange" } as const;
 * console.assert(coverage([a, a, null], [a, b, b]) === 0.5);
 * ```
 */
export function coverage(
  generated: readonly (Scene | null)[],
  reference: readonly Scene[],
): number {
  if (reference.length === 0) throw new RangeError("coverage: no reference scenes");
  const made = new Set(generated.flatMap((s) => (s === null ? [] : [sceneKey(s)])));
  const wanted = new Set(reference.map(sceneKey));
  return [...wanted].filter((k) => made.has(k)).length / wanted.size;
}

/**
 * Number of distinct attribute combinations among scenes (nulls ignored): a plain diversity
 * count for gamma sweeps.
 *
 * @example
 * ```ts
 * import { distinctCombinations } from "./metrics.ts";
 * const a = {
 *   kind: "circle", colour: "red", size: "small", count: "one", position: "top",
 *   background: "black",
 * } as const;
 * console.assert(distinctCombinations([a, a, { ...a, size: "large" }, null]) === 2);
 * ```
 */
export function distinctCombinations(scenes: readonly (Scene | null)[]): number {
  return new Set(scenes.flatMap((s) => (s === null ? [] : [sceneKey(s)]))).size;
}

/**
 * The fixed feature embedding for Density and Coverage: 4×4-pixel cell means of a 32×32 image,
 * row by row, RGB per cell, scaled to [0, 1] (see the module notes for the choice).
 *
 * @throws RangeError when the image is not 32×32.
 * @example
 * ```ts
 * import { embedImage, EMBED_DIM } from "./metrics.ts";
 * const img = { width: 32, height: 32, data: new Uint8Array(32 * 32 * 3).fill(255) };
 * const f = embedImage(img);
 * console.assert(f.length === EMBED_DIM && f[0] === 1);
 * ```
 */
export function embedImage(img: RgbImage): Float32Array {
  const cell = 4, n = EMBED_GRID * cell;
  if (img.width !== n || img.height !== n || img.data.length !== n * n * 3) {
    throw new RangeError(`embedImage: expected a ${n}x${n} RGB image`);
  }
  const out = new Float32Array(EMBED_DIM);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const o = (Math.floor(y / cell) * EMBED_GRID + Math.floor(x / cell)) * 3;
      for (let c = 0; c < 3; c++) {
        out[o + c]! += img.data[(y * n + x) * 3 + c]! / (255 * cell * cell);
      }
    }
  }
  return out;
}

/** Density and Coverage of a fake sample against a real one. */
export interface DensityCoverage {
  /** Mean number of real k-NN balls holding each fake point, divided by k (can exceed 1). */
  density: number;
  /** Share of real points whose k-NN ball holds at least one fake point, in [0, 1]. */
  coverage: number;
}

function euclid(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError("densityCoverage: feature lengths differ");
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s);
}

/**
 * Density and Coverage (Naeem et al. 2020) with Euclidean distances. The radius r_i of real
 * point X_i is its distance to its k-th nearest other real point; with B(x, r) the open ball
 * (strict `<`, as in the authors' `prdc` code):
 * density = 1/(kM) Σ_j Σ_i 1[Y_j ∈ B(X_i, r_i)], coverage = 1/N Σ_i 1[∃ j: Y_j ∈ B(X_i, r_i)],
 * over N real points X and M fake points Y.
 *
 * @throws RangeError when there are k or fewer real points, no fake points, k < 1, or the
 * feature lengths differ.
 * @example
 * ```ts
 * import { densityCoverage } from "./metrics.ts";
 * const real = [[0], [1], [2], [3], [10]];
 * const dc = densityCoverage(real, [[0.5], [20]], 2);
 * console.assert(dc.coverage === 0.4 && dc.density === 0.5);
 * ```
 */
export function densityCoverage(
  real: readonly ArrayLike<number>[],
  fake: readonly ArrayLike<number>[],
  k = 5,
): DensityCoverage {
  const N = real.length, M = fake.length;
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`densityCoverage: k must be >= 1`);
  if (N <= k) throw new RangeError(`densityCoverage: need more than k=${k} real points, got ${N}`);
  if (M === 0) throw new RangeError("densityCoverage: no fake points");
  const radii = real.map((x, i) => {
    const d = real.flatMap((y, j) => (j === i ? [] : [euclid(x, y)])).sort((a, b) => a - b);
    return d[k - 1]!;
  });
  let inBalls = 0, covered = 0;
  const hit = new Uint8Array(N);
  for (const y of fake) {
    for (let i = 0; i < N; i++) {
      if (euclid(real[i]!, y) < radii[i]!) {
        inBalls++;
        hit[i] = 1;
      }
    }
  }
  for (let i = 0; i < N; i++) covered += hit[i]!;
  return { density: inBalls / (k * M), coverage: covered / N };
}

/**
 * On-concept diversity: the number of distinct attribute combinations among the generated
 * scenes that lie inside the concept's support. Misreads (null analyses) and off-concept
 * images do not count, so noise cannot pass for diversity.
 *
 * @example
 * ```ts
 * import { onConceptDiversity } from "./metrics.ts";
 * import { CONCEPTS } from "./concepts.ts";
 * const c = CONCEPTS["pairs-bottom"];
 * const [a, b] = c.referenceScenes(0, 2);
 * const off = { ...a!, count: "one" } as const;
 * console.assert(onConceptDiversity([a!, a!, b!, off, null], c) === (a === b ? 1 : 2));
 * ```
 */
export function onConceptDiversity(
  generated: readonly (Scene | null)[],
  concept: { support(scene: Scene | null): boolean },
): number {
  return distinctCombinations(generated.filter((s) => concept.support(s)));
}

/**
 * Support coverage: the share of the concept's whole support (every allowed attribute
 * combination) that the generated scenes reach: `onConceptDiversity / |support|`.
 *
 * @example
 * ```ts
 * import { supportCoverage } from "./metrics.ts";
 * import { CONCEPTS } from "./concepts.ts";
 * const c = CONCEPTS["small-white-anything"]; // 30 scenes
 * console.assert(supportCoverage(c.supportScenes().slice(0, 3), c) === 0.1);
 * ```
 */
export function supportCoverage(
  generated: readonly (Scene | null)[],
  concept: { support(scene: Scene | null): boolean; supportScenes(): Scene[] },
): number {
  return onConceptDiversity(generated, concept) / concept.supportScenes().length;
}

/** A mean and its percentile-bootstrap 95% interval. */
export interface BootstrapInterval {
  mean: number;
  ci95: [number, number];
}

/**
 * Paired bootstrap over seeds: `diffs[i]` is method minus baseline on seed i (both run on the
 * same references). Resamples seeds with replacement `reps` times (seeded, so reproducible) and
 * returns the mean difference with the 2.5th and 97.5th percentiles of the resampled means.
 *
 * @throws RangeError when there are no differences.
 * @example
 * ```ts
 * import { pairedBootstrap } from "./metrics.ts";
 * const r = pairedBootstrap([0.1, 0.1, 0.1]);
 * console.assert(Math.abs(r.mean - 0.1) < 1e-12 && Math.abs(r.ci95[0] - 0.1) < 1e-12);
 * ```
 */
export function pairedBootstrap(
  diffs: readonly number[],
  reps = 10_000,
  seed = 0,
): BootstrapInterval {
  const n = diffs.length;
  if (n === 0) throw new RangeError("pairedBootstrap: no differences");
  const mean = diffs.reduce((a, b) => a + b, 0) / n;
  // A small xorshift keeps this module free of core/random's dependencies and exact.
  let x = (seed ^ 0x9e3779b9) >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
  const means = new Float64Array(reps);
  for (let r = 0; r < reps; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += diffs[Math.floor(next() * n)]!;
    means[r] = s / n;
  }
  means.sort();
  const at = (q: number) => means[Math.min(reps - 1, Math.max(0, Math.floor(q * reps)))]!;
  return { mean, ci95: [at(0.025), at(0.975)] };
}
