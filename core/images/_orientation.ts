/**
 * Applying an EXIF orientation (1..8) so that pixels come out the way the image is shown.
 *
 * @module
 */
import type { RgbImage } from "./types.ts";

/**
 * Source coordinates for output pixel (x, y) of a `w` x `h` stored image, per orientation:
 * 2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90 clockwise, 7 transverse,
 * 8 rotate 90 counter-clockwise. 5..8 swap width and height.
 */
const SOURCE: Record<number, (x: number, y: number, w: number, h: number) => [number, number]> = {
  2: (x, y, w) => [w - 1 - x, y],
  3: (x, y, w, h) => [w - 1 - x, h - 1 - y],
  4: (x, y, _w, h) => [x, h - 1 - y],
  5: (x, y) => [y, x],
  6: (x, y, _w, h) => [y, h - 1 - x],
  7: (x, y, w, h) => [w - 1 - y, h - 1 - x],
  8: (x, y, w) => [w - 1 - y, x],
};

/** Returns `img` turned upright for an EXIF orientation; 1 and unknown values return it as is. */
export function applyOrientation(img: RgbImage, orientation: number): RgbImage {
  const source = SOURCE[orientation];
  if (!source) return img;
  const { width: w, height: h, data } = img;
  const swap = orientation >= 5;
  const ow = swap ? h : w;
  const oh = swap ? w : h;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      const [sx, sy] = source(x, y, w, h);
      const s = (sy * w + sx) * 3;
      const o = (y * ow + x) * 3;
      out[o] = data[s] ?? 0;
      out[o + 1] = data[s + 1] ?? 0;
      out[o + 2] = data[s + 2] ?? 0;
    }
  }
  return { width: ow, height: oh, data: out };
}
