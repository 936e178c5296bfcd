/**
 * Rendering world scenes to crisp 32×32 RGB images (no anti-aliasing), and a degradation
 * (blur + Gaussian pixel noise) for robustness tests and data augmentation.
 *
 * Shapes, for an object centred on pixel (cx, cy) with half-extent h and pixel offsets
 * dx = x − cx, dy = y − cy, both in [−h, h]:
 * - square: every pixel of the box;
 * - circle: dx² + dy² ≤ h² + h (a disc of radius ≈ h + ½, so it touches all four box sides);
 * - triangle: 2|dx| ≤ dy + h (apex up, one pixel wide at the top, full width at the bottom).
 *
 * @module
 */
import type { RgbImage } from "../images/mod.ts";
import { Rng } from "../random.ts";
import {
  BACKGROUND_RGB,
  HALF_EXTENT,
  type Kind,
  OBJECT_RGB,
  objectCentres,
  type Scene,
  WORLD_SIZE,
} from "./scene.ts";

/** Largest jitter of a scene's layout, in pixels per axis (before clamping to the margin). */
export const MAX_JITTER = 2;
/** Pixels kept free between any object and the canvas edge. */
export const MARGIN = 1;

/**
 * Whether the offset (dx, dy) from an object's centre pixel is inside a shape of half-extent h.
 *
 * @example
 * ```ts
 * import { insideShape } from "./render.ts";
 * console.assert(insideShape("square", 4, 4, 4) && !insideShape("circle", 4, 4, 4));
 * console.assert(insideShape("triangle", 0, -4, 4) && !insideShape("triangle", 1, -4, 4));
 * ```
 */
export function insideShape(kind: Kind, dx: number, dy: number, h: number): boolean {
  if (Math.abs(dx) > h || Math.abs(dy) > h) return false;
  if (kind === "square") return true;
  if (kind === "circle") return dx * dx + dy * dy <= h * h + h;
  return 2 * Math.abs(dx) <= dy + h;
}

/**
 * The object centres of a scene as drawn: the layout of `objectCentres`, shifted by a jitter of
 * up to ±`MAX_JITTER` px per axis drawn from `seed` (none when `seed` is undefined), then
 * clamped so every object keeps `MARGIN` px from the edge. Both objects of a pair move together.
 *
 * @example
 * ```ts
 * import { jitteredCentres } from "./render.ts";
 * const s = {
 *   kind: "circle", colour: "red", size: "small", count: "one", position: "center",
 *   background: "black",
 * } as const;
 * console.assert(jitteredCentres(s)[0]![0] === 16);
 * ```
 */
export function jitteredCentres(scene: Scene, seed?: number): [number, number][] {
  const centres = objectCentres(scene);
  if (seed === undefined) return centres;
  const rng = new Rng(seed).fork("world-jitter");
  const h = HALF_EXTENT[scene.size];
  const shift = (axis: 0 | 1): number => {
    const j = Math.floor(rng.uniform() * (2 * MAX_JITTER + 1)) - MAX_JITTER;
    const lo = Math.min(...centres.map((c) => c[axis])) - h;
    const hi = Math.max(...centres.map((c) => c[axis])) + h;
    return Math.max(MARGIN - lo, Math.min(WORLD_SIZE - 1 - MARGIN - hi, j));
  };
  const jx = shift(0), jy = shift(1);
  return centres.map(([x, y]) => [x + jx, y + jy]);
}

/**
 * Renders a scene as a 32×32 RGB image: flat background, flat object colour, no anti-aliasing.
 * Deterministic: the same scene and seed give the same bytes; `seed` only moves the layout
 * (see `jitteredCentres`), and without it the layout is the canonical one.
 *
 * @example
 * ```ts
 * import { render } from "./render.ts";
 * const img = render({
 *   kind: "square", colour: "white", size: "small", count: "one", position: "center",
 *   background: "black",
 * });
 * console.assert(img.width === 32 && img.data[(16 * 32 + 16) * 3] === 245 && img.data[0] === 0);
 * ```
 */
export function render(scene: Scene, seed?: number): RgbImage {
  const n = WORLD_SIZE;
  const data = new Uint8Array(n * n * 3);
  const bg = BACKGROUND_RGB[scene.background];
  for (let i = 0; i < n * n; i++) data.set(bg, i * 3);
  const fg = OBJECT_RGB[scene.colour];
  const h = HALF_EXTENT[scene.size];
  for (const [cx, cy] of jitteredCentres(scene, seed)) {
    for (let dy = -h; dy <= h; dy++) {
      for (let dx = -h; dx <= h; dx++) {
        if (insideShape(scene.kind, dx, dy, h)) data.set(fg, ((cy + dy) * n + cx + dx) * 3);
      }
    }
  }
  return { width: n, height: n, data };
}

/** Options of {@linkcode degrade}. */
export interface DegradeOptions {
  /** Standard deviation of the Gaussian blur in pixels (0: none; default 0.7). */
  blur?: number;
  /** Standard deviation of the per-channel Gaussian noise, 0–255 scale (default 20). */
  noise?: number;
}

/**
 * A degraded copy of an image: separable Gaussian blur (edges clamped), then independent
 * Gaussian noise on every channel, rounded and clipped to 0–255. Deterministic per seed.
 *
 * @example
 * ```ts
 * import { degrade, render } from "./render.ts";
 * const clean = render({
 *   kind: "circle", colour: "red", size: "large", count: "one", position: "top",
 *   background: "gray",
 * });
 * const noisy = degrade(clean, 7, { blur: 0.7, noise: 20 });
 * console.assert(noisy.data.length === clean.data.length);
 * ```
 */
export function degrade(img: RgbImage, seed: number, opts: DegradeOptions = {}): RgbImage {
  const { width: w, height: hgt } = img;
  const sigma = opts.blur ?? 0.7;
  const noise = opts.noise ?? 20;
  let px: Float64Array = Float64Array.from(img.data);
  if (sigma > 0) {
    const r = Math.ceil(3 * sigma);
    const k = Array.from(
      { length: 2 * r + 1 },
      (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma ** 2)),
    );
    const sum = k.reduce((a, b) => a + b, 0);
    const kern = k.map((v) => v / sum);
    const pass = (src: Float64Array, horizontal: boolean): Float64Array => {
      const out = new Float64Array(src.length);
      for (let y = 0; y < hgt; y++) {
        for (let x = 0; x < w; x++) {
          for (let c = 0; c < 3; c++) {
            let acc = 0;
            for (let i = -r; i <= r; i++) {
              const xx = horizontal ? Math.min(w - 1, Math.max(0, x + i)) : x;
              const yy = horizontal ? y : Math.min(hgt - 1, Math.max(0, y + i));
              acc += kern[i + r]! * src[(yy * w + xx) * 3 + c]!;
            }
            out[(y * w + x) * 3 + c] = acc;
          }
        }
      }
      return out;
    };
    px = pass(pass(px, true), false);
  }
  const rng = new Rng(seed).fork("world-degrade");
  const data = new Uint8Array(px.length);
  for (let i = 0; i < px.length; i++) {
    data[i] = Math.max(
      0,
      Math.min(255, Math.round(px[i]! + (noise > 0 ? noise * rng.normal() : 0))),
    );
  }
  return { width: w, height: hgt, data };
}
