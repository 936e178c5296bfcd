/**
 * Training previews: every N steps, a small grid of images sampled from the distribution
 * learned so far (a fresh c~ per image, the model's own sampler defaults, a fixed seed so that
 * successive previews differ only by training).
 *
 * @example
 * ```ts ignore
 * await engine.train(input, {
 *   preview: { every: 100, onPreview: ({ step, image }) => save(step, encodePng(image)) },
 * });
 * ```
 *
 * @module
 */
import { renderDistribution, type TrainHooks } from "../distribution/mod.ts";
import { makeGrid, type RgbImage } from "../images/mod.ts";
import type { LoadedModel } from "./engine.ts";
import { type PlannedTimesteps, planTimesteps } from "./requests.ts";

/** A rendered preview. */
export interface Preview {
  /** Steps done when it was drawn. */
  step: number;
  steps: number;
  /** The grid of `n` images. */
  image: RgbImage;
}

/** What previews to draw, and where they go. */
export interface PreviewOptions {
  /** Steps between two previews. */
  every: number;
  /** Images per grid (default 4). */
  n?: number;
  /** Denoising steps per image (default 10: a preview, not a final image). */
  sampleSteps?: number;
  /** Seed of the c~ draws and the noise (default 0). */
  seed?: number;
  onPreview: (p: Preview) => Promise<void> | void;
}

/**
 * The core training hooks that draw previews with `model`.
 *
 * @param model The model being trained on.
 * @param o What to draw and the callback.
 * @param signal Cancels a preview being drawn.
 */
export function previewHooks(
  model: LoadedModel,
  o: PreviewOptions,
  signal?: AbortSignal,
): Pick<TrainHooks, "previewEvery" | "onPreview"> {
  const n = o.n ?? 4;
  let timesteps: PlannedTimesteps | undefined; // planned once, at the first preview
  return {
    previewEvery: o.every,
    onPreview: async ({ step, steps, distribution }) => {
      timesteps ??= planTimesteps(
        model.defaultScheduler,
        model.schedulerConfig,
        o.sampleSteps ?? 10,
      );
      const images = await renderDistribution(model, distribution, {
        gamma: 1,
        n,
        seed: o.seed ?? 0,
        guidance: model.defaultGuidance,
        guidanceRescale: model.defaultGuidanceRescale,
        timesteps,
        ...(signal ? { signal } : {}),
      });
      const cols = Math.ceil(Math.sqrt(n));
      const rows: RgbImage[][] = [];
      for (let i = 0; i < n; i += cols) rows.push(images.slice(i, i + cols));
      await o.onPreview({ step, steps, image: makeGrid(rows) });
    },
  };
}
