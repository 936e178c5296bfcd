/**
 * Encoding {@linkcode RgbImage}s as PNG (8-bit RGB, no alpha), via fast-png.
 *
 * @module
 */
import { encode as fastPngEncode } from "fast-png";
import { checkRgbImage, type RgbImage } from "./types.ts";

/**
 * Encodes an RGB image as an 8-bit RGB PNG.
 *
 * @param img The image; its data must be `width * height * 3` bytes.
 * @returns The PNG file bytes.
 * @throws RangeError for a malformed image.
 *
 * @example
 * ```ts
 * import { encodePng } from "./encode.ts";
 * const png = encodePng({ width: 1, height: 1, data: new Uint8Array([0, 128, 255]) });
 * console.assert(png[1] === 0x50 && png[2] === 0x4e && png[3] === 0x47); // "PNG"
 * ```
 */
export function encodePng(img: RgbImage): Uint8Array {
  const { width, height, data } = checkRgbImage(img);
  return fastPngEncode({ width, height, data, channels: 3, depth: 8 });
}
