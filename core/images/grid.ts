/**
 * Laying tiles out as a grid image, for demo sheets (one row per prompt, seed, gamma, ...).
 *
 * @module
 */
import { checkRgbImage, type RgbImage } from "./types.ts";

/** Options of {@linkcode makeGrid}. */
export interface GridOptions {
  /** Pixels between tiles and around the edge (default 2). */
  pad?: number;
  /** Colour of the padding and of empty cells in short rows (default white). */
  background?: readonly [number, number, number];
}

/**
 * Places rows of equal-size tiles on a background. Rows may differ in length: the grid is as
 * wide as the longest row, short rows leave background. Size:
 * `cols * tileW + (cols + 1) * pad` by `rows * tileH + (rows + 1) * pad`.
 *
 * @throws RangeError when there are no tiles, tiles differ in size, or `pad` is bad.
 *
 * @example
 * ```ts
 * import { makeGrid } from "./grid.ts";
 * const tile = { width: 4, height: 3, data: new Uint8Array(36) };
 * const g = makeGrid([[tile, tile], [tile]], { pad: 1 });
 * console.assert(g.width === 2 * 4 + 3 && g.height === 2 * 3 + 3);
 * ```
 */
export function makeGrid(rows: RgbImage[][], opts: GridOptions = {}): RgbImage {
  const pad = opts.pad ?? 2;
  const bg = opts.background ?? [255, 255, 255];
  if (!Number.isInteger(pad) || pad < 0) throw new RangeError(`pad must be an integer >= 0`);
  const first = rows.find((r) => r.length > 0)?.[0];
  if (!first) throw new RangeError("makeGrid needs at least one tile");
  const tw = first.width;
  const th = first.height;
  const cols = Math.max(...rows.map((r) => r.length));
  const width = cols * tw + (cols + 1) * pad;
  const height = rows.length * th + (rows.length + 1) * pad;
  const out = new Uint8Array(width * height * 3);
  for (let i = 0; i < out.length; i += 3) {
    out[i] = bg[0];
    out[i + 1] = bg[1];
    out[i + 2] = bg[2];
  }
  rows.forEach((row, r) => {
    row.forEach((tile, c) => {
      checkRgbImage(tile, `tile [${r}][${c}]`);
      if (tile.width !== tw || tile.height !== th) {
        throw new RangeError(
          `tile [${r}][${c}] is ${tile.width}x${tile.height}, expected ${tw}x${th} like the first`,
        );
      }
      const x0 = pad + c * (tw + pad);
      const y0 = pad + r * (th + pad);
      for (let y = 0; y < th; y++) {
        out.set(tile.data.subarray(y * tw * 3, (y + 1) * tw * 3), ((y0 + y) * width + x0) * 3);
      }
    });
  });
  return { width, height, data: out };
}
