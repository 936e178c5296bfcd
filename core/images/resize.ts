/**
 * Resizing RGB images, antialiased: each axis is resampled on its own (separable), by area
 * averaging when it shrinks (an output pixel is the coverage-weighted mean of the input pixels
 * under it: exact box averages at integer factors) and by bilinear interpolation when it grows
 * (pixel centres aligned, `align_corners = false`, edges clamped). Sums are kept in float and
 * rounded to 8 bits once, at the end.
 *
 * @module
 */
import { checkRgbImage, type RgbImage } from "./types.ts";

/** Per output index: the input indices it reads and their weights (summing to 1). */
interface Taps {
  index: number[];
  weight: number[];
}

function axisTaps(inSize: number, outSize: number): Taps[] {
  const taps: Taps[] = [];
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    if (scale === 1) {
      taps.push({ index: [o], weight: [1] });
    } else if (scale > 1) {
      const lo = o * scale;
      const hi = Math.min(inSize, (o + 1) * scale);
      const t: Taps = { index: [], weight: [] };
      for (let i = Math.floor(lo); i < Math.ceil(hi); i++) {
        const cover = Math.min(hi, i + 1) - Math.max(lo, i);
        if (cover > 1e-9) {
          t.index.push(i);
          t.weight.push(cover / scale);
        }
      }
      taps.push(t);
    } else {
      const src = Math.min(inSize - 1, Math.max(0, (o + 0.5) * scale - 0.5));
      const i0 = Math.floor(src);
      const f = src - i0;
      taps.push({ index: [i0, Math.min(inSize - 1, i0 + 1)], weight: [1 - f, f] });
    }
  }
  return taps;
}

/**
 * Resizes to exactly `width` x `height` (area averaging down, bilinear up, per axis).
 *
 * @throws RangeError for a malformed image or a non-positive / non-integer size.
 *
 * @example
 * ```ts
 * import { resizeImage } from "./resize.ts";
 * // 2x2 -> 1x1 is the mean of the four pixels
 * const data = new Uint8Array([0, 0, 0, 40, 40, 40, 80, 80, 80, 120, 120, 120]);
 * const img = { width: 2, height: 2, data };
 * console.assert(resizeImage(img, 1, 1).data[0] === 60);
 * ```
 */
export function resizeImage(img: RgbImage, width: number, height: number): RgbImage {
  checkRgbImage(img);
  checkSize(width, "width");
  checkSize(height, "height");
  const { width: iw, height: ih, data } = img;
  if (iw === width && ih === height) return { width, height, data: data.slice() };
  const xt = axisTaps(iw, width);
  const yt = axisTaps(ih, height);
  // horizontal pass: ih rows of `width` pixels, kept in float
  const tmp = new Float32Array(ih * width * 3);
  for (let y = 0; y < ih; y++) {
    const row = y * iw * 3;
    for (let x = 0; x < width; x++) {
      const { index, weight } = xt[x] as Taps;
      let r = 0, g = 0, b = 0;
      for (let k = 0; k < index.length; k++) {
        const s = row + (index[k] as number) * 3;
        const w = weight[k] as number;
        r += (data[s] as number) * w;
        g += (data[s + 1] as number) * w;
        b += (data[s + 2] as number) * w;
      }
      const o = (y * width + x) * 3;
      tmp[o] = r;
      tmp[o + 1] = g;
      tmp[o + 2] = b;
    }
  }
  // vertical pass, rounding once
  const out = new Uint8Array(width * height * 3);
  const stride = width * 3;
  const acc = new Float64Array(stride);
  for (let y = 0; y < height; y++) {
    const { index, weight } = yt[y] as Taps;
    acc.fill(0);
    for (let k = 0; k < index.length; k++) {
      const s = (index[k] as number) * stride;
      const w = weight[k] as number;
      for (let i = 0; i < stride; i++) acc[i] = (acc[i] as number) + (tmp[s + i] as number) * w;
    }
    const o = y * stride;
    for (let i = 0; i < stride; i++) {
      out[o + i] = Math.min(255, Math.max(0, Math.round(acc[i] as number)));
    }
  }
  return { width, height, data: out };
}

/**
 * Resizes so that the shorter side equals `size`, keeping the aspect ratio (the longer side is
 * rounded to the nearest pixel, never below `size`).
 *
 * @example
 * ```ts
 * import { resizeShorterSide } from "./resize.ts";
 * const img = { width: 40, height: 20, data: new Uint8Array(40 * 20 * 3) };
 * const out = resizeShorterSide(img, 10);
 * console.assert(out.width === 20 && out.height === 10);
 * ```
 */
export function resizeShorterSide(img: RgbImage, size: number): RgbImage {
  checkRgbImage(img);
  checkSize(size, "size");
  const { width, height } = img;
  if (width <= height) {
    return resizeImage(img, size, Math.max(size, Math.round((height * size) / width)));
  }
  return resizeImage(img, Math.max(size, Math.round((width * size) / height)), size);
}

function checkSize(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`${what} must be a positive integer, got ${n}`);
  }
}
