/**
 * The pixel type shared by the image module.
 *
 * @module
 */

/**
 * An 8-bit RGB image, rows top to bottom, pixels interleaved `r, g, b` (no alpha, no padding).
 *
 * @example
 * ```ts
 * import type { RgbImage } from "./types.ts";
 * const red: RgbImage = { width: 1, height: 1, data: new Uint8Array([255, 0, 0]) };
 * ```
 */
export interface RgbImage {
  width: number;
  height: number;
  /** `width * height * 3` bytes, RGB interleaved. */
  data: Uint8Array;
}

/** The image formats that can be decoded, as identified by their leading bytes. */
export type ImageFormat = "png" | "jpeg" | "webp";

/**
 * Checks that `img` is a well-formed {@linkcode RgbImage} and returns it.
 * @throws RangeError when the sizes are not positive integers or the data length is wrong.
 */
export function checkRgbImage(img: RgbImage, what = "image"): RgbImage {
  const { width, height, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(
      `${what}: width and height must be positive integers, got ${width}x${height}`,
    );
  }
  if (data.length !== width * height * 3) {
    throw new RangeError(
      `${what}: data has ${data.length} bytes, expected ${
        width * height * 3
      } (${width}x${height}x3)`,
    );
  }
  return img;
}
