/**
 * Cropping and mirroring RGB images.
 *
 * @module
 */
import { checkRgbImage, type RgbImage } from "./types.ts";

/**
 * Copies the `width` x `height` rectangle whose top-left corner is (`left`, `top`).
 *
 * @throws RangeError when the rectangle is empty, not integral or not inside the image.
 *
 * @example
 * ```ts
 * import { cropImage } from "./crop.ts";
 * const img = { width: 3, height: 1, data: new Uint8Array([1, 1, 1, 2, 2, 2, 3, 3, 3]) };
 * console.assert(cropImage(img, 1, 0, 1, 1).data[0] === 2);
 * ```
 */
export function cropImage(
  img: RgbImage,
  left: number,
  top: number,
  width: number,
  height: number,
): RgbImage {
  checkRgbImage(img);
  const ints = [left, top, width, height].every(Number.isInteger);
  if (
    !ints || left < 0 || top < 0 || width < 1 || height < 1 ||
    left + width > img.width || top + height > img.height
  ) {
    throw new RangeError(
      `crop ${width}x${height} at (${left}, ${top}) is not inside the ` +
        `${img.width}x${img.height} image`,
    );
  }
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const s = ((top + y) * img.width + left) * 3;
    out.set(img.data.subarray(s, s + width * 3), y * width * 3);
  }
  return { width, height, data: out };
}

/**
 * Mirrors left to right.
 *
 * @example
 * ```ts
 * import { flipHorizontal } from "./crop.ts";
 * const img = { width: 2, height: 1, data: new Uint8Array([1, 2, 3, 4, 5, 6]) };
 * console.assert(flipHorizontal(img).data.join() === "4,5,6,1,2,3");
 * ```
 */
export function flipHorizontal(img: RgbImage): RgbImage {
  const { width, height, data } = checkRgbImage(img);
  const out = new Uint8Array(data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const s = (y * width + x) * 3;
      const o = (y * width + width - 1 - x) * 3;
      out[o] = data[s] as number;
      out[o + 1] = data[s + 1] as number;
      out[o + 2] = data[s + 2] as number;
    }
  }
  return { width, height, data: out };
}
