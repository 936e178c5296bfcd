/**
 * Between 8-bit RGB images and the float tensors the model reads and writes:
 * channel-first `[3, H, W]`, values in [-1, 1] (`x / 127.5 - 1`).
 *
 * @module
 */
import { checkRgbImage, type RgbImage } from "./types.ts";

/**
 * RGB image to a `[3, H, W]` Float32Array in [-1, 1].
 *
 * @example
 * ```ts
 * import { toTensor } from "./tensor.ts";
 * const t = toTensor({ width: 1, height: 1, data: new Uint8Array([0, 255, 255]) });
 * console.assert(t[0] === -1 && t[1] === 1 && t.length === 3);
 * ```
 */
export function toTensor(img: RgbImage): Float32Array {
  const { width, height, data } = checkRgbImage(img);
  const plane = width * height;
  const out = new Float32Array(plane * 3);
  for (let i = 0; i < plane; i++) {
    out[i] = (data[i * 3] as number) / 127.5 - 1;
    out[plane + i] = (data[i * 3 + 1] as number) / 127.5 - 1;
    out[2 * plane + i] = (data[i * 3 + 2] as number) / 127.5 - 1;
  }
  return out;
}

/**
 * `[3, h, w]` values in [-1, 1] back to 8-bit RGB: `(x + 1) / 2` clamped to [0, 1], times 255,
 * rounded. NaN becomes 0.
 *
 * @throws RangeError when `chw.length !== 3 * h * w`.
 *
 * @example
 * ```ts
 * import { fromTensor } from "./tensor.ts";
 * const img = fromTensor(new Float32Array([-1, 0, 2]), 1, 1);
 * console.assert(img.data.join() === "0,128,255");
 * ```
 */
export function fromTensor(chw: Float32Array, h: number, w: number): RgbImage {
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1) {
    throw new RangeError(`fromTensor: bad size ${h}x${w}`);
  }
  const plane = h * w;
  if (chw.length !== plane * 3) {
    throw new RangeError(`fromTensor: ${chw.length} values, expected 3x${h}x${w} = ${plane * 3}`);
  }
  const out = new Uint8Array(plane * 3);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < plane; i++) {
      const v = ((chw[c * plane + i] as number) + 1) / 2;
      out[i * 3 + c] = v > 0 ? Math.round(Math.min(1, v) * 255) : 0;
    }
  }
  return { width: w, height: h, data: out };
}
