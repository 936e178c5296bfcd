/**
 * Reference images to model input (DESIGN §4 "data"): resize the shorter side to the model
 * resolution, crop a square (center, or random given an offset function), optionally mirror,
 * then `[3, size, size]` floats in [-1, 1]. As in the diffusers training scripts, the resized
 * pixels are rounded to 8 bits before the tensor is made.
 *
 * @module
 */
import { cropImage, flipHorizontal } from "./crop.ts";
import { resizeShorterSide } from "./resize.ts";
import { toTensor } from "./tensor.ts";
import type { RgbImage } from "./types.ts";

/** Options of {@linkcode prepareImage} and {@linkcode preprocessImage}. */
export interface PrepareOptions {
  /**
   * Random crop: called with the largest allowed offset `max` (an integer >= 0), first for x,
   * then for y, and must return an integer in [0, max]. Center crop when absent
   * (offset `floor(max / 2)`).
   */
  randomOffset?: (max: number) => number;
  /** Mirror left to right after cropping (the caller draws it for random flips). */
  flip?: boolean;
}

/**
 * Resizes the shorter side to `size`, crops `size` x `size`, mirrors if asked.
 *
 * @throws RangeError for a bad `size` or an offset function returning out of range.
 *
 * @example
 * ```ts
 * import { prepareImage } from "./preprocess.ts";
 * const img = { width: 60, height: 30, data: new Uint8Array(60 * 30 * 3) };
 * const out = prepareImage(img, 16, { randomOffset: (max) => max, flip: true });
 * console.assert(out.width === 16 && out.height === 16);
 * ```
 */
export function prepareImage(img: RgbImage, size: number, options: PrepareOptions = {}): RgbImage {
  const resized = resizeShorterSide(img, size);
  const pick = options.randomOffset;
  const offset = (max: number): number => {
    if (!pick) return Math.floor(max / 2);
    const v = pick(max);
    if (!Number.isInteger(v) || v < 0 || v > max) {
      throw new RangeError(
        `randomOffset(${max}) returned ${v}, expected an integer in [0, ${max}]`,
      );
    }
    return v;
  };
  const left = offset(resized.width - size);
  const top = offset(resized.height - size);
  const cropped = cropImage(resized, left, top, size, size);
  return options.flip ? flipHorizontal(cropped) : cropped;
}

/**
 * {@linkcode prepareImage} then `toTensor`: a `[3, size, size]` Float32Array in [-1, 1].
 *
 * @example
 * ```ts
 * import { preprocessImage } from "./preprocess.ts";
 * const img = { width: 8, height: 12, data: new Uint8Array(8 * 12 * 3).fill(255) };
 * const t = preprocessImage(img, 4);
 * console.assert(t.length === 3 * 4 * 4 && t.every((v) => v === 1));
 * ```
 */
export function preprocessImage(
  img: RgbImage,
  size: number,
  options: PrepareOptions = {},
): Float32Array {
  return toTensor(prepareImage(img, size, options));
}
