/**
 * The analyser: recovers a scene's attributes from a 32×32 image (a clean render, a degraded
 * one or a generated one).
 *
 * 1. Background: every border pixel votes for its nearest palette background; the winner is the
 *    background, and the per-channel median of its voters is the observed background colour.
 * 2. Noise: a robust sigma (1.4826 × MAD of the voters); above `SMOOTH_ABOVE` the image is
 *    smoothed with a 3×3 binomial kernel before segmentation (clean renders are left as is).
 * 3. Foreground: each pixel is modelled as a mix `bg + α (c − bg)` of the observed background and
 *    the palette colour c whose segment passes nearest to it; it is foreground when α > ½ (the
 *    midpoint rule keeps a 3 px gap open under blur). 8-connected components of fewer than
 *    `MIN_AREA` pixels are specks and dropped. Each component is then refined: its colour is
 *    the mean of its interior pixels (original image), and within its box (grown by 1 px) the
 *    pixels nearer that colour than the background, largest 8-connected part, form the object.
 * 4. Per object: colour = nearest palette colour of the interior mean; kind and size = those of
 *    the world shape (3 kinds × 2 sizes, exactly as rendered, centred within ±2 px of the mask's
 *    box centre) with the highest IoU against the mask, which also gives the object's centre.
 * 5. Count = number of objects (1 or 2, else no scene); position = the region centre nearest the
 *    mean of the objects' centres. A pair whose kinds, colours or sizes differ is no scene.
 *
 * @module
 */
import type { RgbImage } from "../images/mod.ts";
import { insideShape } from "./render.ts";
import {
  ATTRIBUTES,
  type Background,
  BACKGROUND_RGB,
  type Colour,
  HALF_EXTENT,
  type Kind,
  OBJECT_RGB,
  type Position,
  POSITION_CENTRES,
  type Rgb,
  type Scene,
  type Size,
  WORLD_SIZE,
} from "./scene.ts";

/** Components smaller than this (pixels) are specks, not objects (a small triangle has 41). */
export const MIN_AREA = 12;
/** Robust noise sigma (0–255 scale) above which the image is smoothed before segmentation. */
export const SMOOTH_ABOVE = 3;

/** One object found in an image. */
export interface AnalysedObject {
  kind: Kind;
  colour: Colour;
  size: Size;
  /** Centre pixel of the best-fitting world shape, `[x, y]`. */
  centre: [number, number];
  /** Inclusive pixel bounding box of the mask. */
  box: { x0: number; y0: number; x1: number; y1: number };
  /** Pixels in the object's mask. */
  area: number;
  /** Mean RGB of the object's interior pixels. */
  meanRgb: [number, number, number];
  /** Best IoU of the mask with each kind's world shapes (both sizes, nearby centres). */
  iou: Record<Kind, number>;
}

/** What `analyse` recovered. */
export interface Analysis {
  /** The scene, when every attribute was recovered and the objects agree; else null. */
  scene: Scene | null;
  /** Each attribute that could be recovered (a pair that disagrees leaves that attribute out). */
  attributes: Partial<Scene>;
  /** The objects found, left to right then top to bottom. */
  objects: AnalysedObject[];
  /**
   * Confidences in [0, 1]: background = share of border votes; kind = lowest best-IoU over
   * objects; colour = lowest nearest-vs-second palette margin (d2 − d1)/(d2 + d1); overall =
   * their minimum (0 when there is no scene).
   */
  confidence: { background: number; kind: number; colour: number; overall: number };
  /** Why `scene` is null, when it is. */
  reason?: string;
}

type Px = ArrayLike<number>;
const dist = (a: Px, b: Px): number => Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!, a[2]! - b[2]!);

function nearest<K extends string>(rgb: Px, palette: Readonly<Record<K, Rgb>>): [K, number] {
  const ds = (Object.keys(palette) as K[]).map((k) => [k, dist(rgb, palette[k])] as const)
    .sort((a, b) => a[1] - b[1]);
  const [d1, d2] = [ds[0]![1], ds[1]?.[1] ?? Infinity];
  return [ds[0]![0], d1 + d2 === 0 ? 1 : Math.min(1, (d2 - d1) / (d2 + d1))];
}

/** Pixel i (row-major) of an interleaved RGB buffer. */
const pixel = (d: ArrayLike<number>, i: number): Px => [d[i * 3]!, d[i * 3 + 1]!, d[i * 3 + 2]!];

/** 3×3 binomial smoothing ([1 2 1]ᵀ[1 2 1] / 16, separable), edges clamped. */
function smooth(d: ArrayLike<number>, n: number): Float64Array {
  let src = d, out = new Float64Array(d.length);
  for (const [sx, sy] of [[1, 0], [0, 1]] as const) {
    out = new Float64Array(d.length);
    for (let p = 0; p < n * n; p++) {
      const x = p % n, y = (p - x) / n;
      const at = (o: number) =>
        (Math.min(n - 1, Math.max(0, y + o * sy)) * n + Math.min(n - 1, Math.max(0, x + o * sx))) *
        3;
      for (let c = 0; c < 3; c++) {
        out[p * 3 + c] = (src[at(-1) + c]! + 2 * src[p * 3 + c]! + src[at(1) + c]!) / 4;
      }
    }
    src = out;
  }
  return out;
}

/**
 * How far a pixel lies from the background towards an object colour: it is modelled as
 * `bg + α (c − bg)` on the segment to the palette colour c nearest to it, and α is returned.
 */
function mixFraction(q: Px, bg: Px): number {
  let best = Infinity, alpha = 0;
  const e0 = q[0]! - bg[0]!, e1 = q[1]! - bg[1]!, e2 = q[2]! - bg[2]!;
  for (const c of ATTRIBUTES.colour) {
    const rgb = OBJECT_RGB[c];
    const d0 = rgb[0] - bg[0]!, d1 = rgb[1] - bg[1]!, d2 = rgb[2] - bg[2]!;
    const a = Math.max(
      0,
      Math.min(1, (e0 * d0 + e1 * d1 + e2 * d2) / (d0 * d0 + d1 * d1 + d2 * d2)),
    );
    const r = (e0 - a * d0) ** 2 + (e1 - a * d1) ** 2 + (e2 - a * d2) ** 2;
    if (r < best) [best, alpha] = [r, a];
  }
  return alpha;
}

/** 8-connected components of `mask`, as pixel lists. */
function components(mask: Uint8Array, n: number): number[][] {
  const seen = new Uint8Array(mask.length);
  const out: number[][] = [];
  for (let s = 0; s < mask.length; s++) {
    if (!mask[s] || seen[s]) continue;
    const comp = [s];
    seen[s] = 1;
    for (let q = 0; q < comp.length; q++) {
      const p = comp[q]!, x = p % n, y = (p - x) / n;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx, yy = y + dy, r = yy * n + xx;
          if (xx < 0 || yy < 0 || xx >= n || yy >= n || !mask[r] || seen[r]) continue;
          seen[r] = 1;
          comp.push(r);
        }
      }
    }
    out.push(comp);
  }
  return out;
}

function boxOf(pixels: number[], n: number) {
  const xs = pixels.map((p) => p % n), ys = pixels.map((p) => Math.floor(p / n));
  return { x0: Math.min(...xs), y0: Math.min(...ys), x1: Math.max(...xs), y1: Math.max(...ys) };
}

/** Search radius (px) around a component's box centre when fitting templates. */
const SEARCH = 2;

/** The (dx, dy) offsets, interleaved, of every world shape's pixels. */
const SHAPE_OFFSETS = Object.fromEntries(ATTRIBUTES.kind.map((kind) => [
  kind,
  Object.fromEntries(ATTRIBUTES.size.map((size) => {
    const h = HALF_EXTENT[size], out: number[] = [];
    for (let dy = -h; dy <= h; dy++) {
      for (let dx = -h; dx <= h; dx++) if (insideShape(kind, dx, dy, h)) out.push(dx, dy);
    }
    return [size, Int8Array.from(out)];
  })),
])) as Record<Kind, Record<Size, Int8Array>>;

/**
 * Fits every world shape (3 kinds × 2 sizes, centred within ±`SEARCH` px of the box centre) to
 * a mask window and returns the best IoU per kind and the best fit overall.
 */
function fitTemplates(mask: Uint8Array, n: number, box: AnalysedObject["box"]) {
  const bx = Math.round((box.x0 + box.x1) / 2), by = Math.round((box.y0 + box.y1) / 2);
  const w0 = Math.max(0, box.x0 - SEARCH), w1 = Math.min(n - 1, box.x1 + SEARCH);
  const v0 = Math.max(0, box.y0 - SEARCH), v1 = Math.min(n - 1, box.y1 + SEARCH);
  let total = 0;
  for (let y = v0; y <= v1; y++) for (let x = w0; x <= w1; x++) total += mask[y * n + x]!;
  const iou: Record<Kind, number> = { circle: 0, square: 0, triangle: 0 };
  let best = { kind: "circle" as Kind, size: "small" as Size, cx: bx, cy: by, iou: -1 };
  for (const kind of ATTRIBUTES.kind) {
    for (const size of ATTRIBUTES.size) {
      const offsets = SHAPE_OFFSETS[kind][size], area = offsets.length / 2;
      for (let cy = by - SEARCH; cy <= by + SEARCH; cy++) {
        for (let cx = bx - SEARCH; cx <= bx + SEARCH; cx++) {
          let inter = 0;
          for (let o = 0; o < offsets.length; o += 2) {
            const x = cx + offsets[o]!, y = cy + offsets[o + 1]!;
            if (x >= w0 && x <= w1 && y >= v0 && y <= v1 && mask[y * n + x]) inter++;
          }
          const v = inter / (area + total - inter);
          if (v > iou[kind]) iou[kind] = v;
          if (v > best.iou) best = { kind, size, cx, cy, iou: v };
        }
      }
    }
  }
  return { iou, best };
}

/** Refines one coarse component into an object: colour, mask by nearest colour, shape fit. */
function describe(
  coarse: number[],
  label: Int32Array,
  id: number,
  img: RgbImage,
  seg: ArrayLike<number>,
  bg: Px,
): AnalysedObject {
  const n = img.width, set = new Set(coarse);
  const interior = coarse.filter((p) => [1, -1, n, -n].every((o) => set.has(p + o)));
  const core = interior.length > 0 ? interior : coarse;
  const mean = new Float64Array(3);
  for (const p of core) for (let c = 0; c < 3; c++) mean[c]! += img.data[p * 3 + c]! / core.length;
  const b = boxOf(coarse, n);
  const mask = new Uint8Array(n * n);
  const pixels: number[] = [];
  for (let y = Math.max(0, b.y0 - SEARCH); y <= Math.min(n - 1, b.y1 + SEARCH); y++) {
    for (let x = Math.max(0, b.x0 - SEARCH); x <= Math.min(n - 1, b.x1 + SEARCH); x++) {
      const p = y * n + x, q = pixel(seg, p);
      if ((label[p] === -1 || label[p] === id) && dist(q, mean) < dist(q, bg)) {
        mask[p] = 1;
        pixels.push(p);
      }
    }
  }
  const box = boxOf(pixels.length > 0 ? pixels : coarse, n);
  const { iou, best } = fitTemplates(mask, n, box);
  return {
    kind: best.kind,
    colour: nearest(mean, OBJECT_RGB)[0],
    size: best.size,
    centre: [best.cx, best.cy],
    box,
    area: pixels.length,
    meanRgb: [mean[0]!, mean[1]!, mean[2]!],
    iou,
  };
}

/**
 * Recovers the attributes of a 32×32 world image (see the module notes for the method).
 *
 * @throws RangeError when the image is not 32×32 RGB.
 * @example
 * ```ts
 * import { analyse } from "./analyse.ts";
 * import { render } from "./render.ts";
 * const scene = {
 *   kind: "triangle", colour: "orange", size: "large", count: "two", position: "bottom",
 *   background: "dark green",
 * } as const;
 * const a = analyse(render(scene, 3));
 * console.assert(a.scene !== null && a.scene.kind === "triangle" && a.scene.count === "two");
 * ```
 */
export function analyse(img: RgbImage): Analysis {
  const n = WORLD_SIZE;
  if (img.width !== n || img.height !== n || img.data.length !== n * n * 3) {
    throw new RangeError(`analyse: expected a ${n}x${n} RGB image, got ${img.width}x${img.height}`);
  }
  const border: number[] = [];
  for (let i = 0; i < n; i++) border.push(i, (n - 1) * n + i, i * n, i * n + n - 1);
  const borderPx = [...new Set(border)].map((p) => pixel(img.data, p));
  const votes = borderPx.map((q) => nearest(q, BACKGROUND_RGB)[0]);
  const tally = new Map<Background, number>();
  for (const v of votes) tally.set(v, (tally.get(v) ?? 0) + 1);
  const [background, won] = [...tally].sort((a, b) => b[1] - a[1])[0]!;
  const voters = borderPx.filter((_, i) => votes[i] === background);
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!;
  const bg = [0, 1, 2].map((c) => median(voters.map((q) => q[c]!)));
  const sigma = 1.4826 *
    median(voters.flatMap((q) => [0, 1, 2].map((c) => Math.abs(q[c]! - bg[c]!))));

  const seg = sigma > SMOOTH_ABOVE ? smooth(img.data, n) : img.data;
  const mask = new Uint8Array(n * n);
  for (let p = 0; p < n * n; p++) mask[p] = mixFraction(pixel(seg, p), bg) > 0.5 ? 1 : 0;
  const comps = components(mask, n).filter((c) => c.length >= MIN_AREA);
  const label = new Int32Array(n * n).fill(-1);
  comps.forEach((c, id) => c.forEach((p) => (label[p] = id)));
  const objects = comps.map((c, id) => describe(c, label, id, img, seg, bg))
    .sort((a, b) => a.centre[0] - b.centre[0] || a.centre[1] - b.centre[1]);

  const attributes: Partial<Scene> = { background };
  const confidence = { background: won / borderPx.length, kind: 1, colour: 1, overall: 0 };
  const done = (reason?: string): Analysis => {
    if (reason !== undefined) return { scene: null, attributes, objects, confidence, reason };
    confidence.overall = Math.min(confidence.background, confidence.kind, confidence.colour);
    return { scene: attributes as Scene, attributes, objects, confidence };
  };
  if (objects.length === 0) return done("no object found");
  for (const attr of ["kind", "colour", "size"] as const) {
    const vals = new Set(objects.map((o) => o[attr]));
    if (vals.size === 1) Object.assign(attributes, { [attr]: objects[0]![attr] });
  }
  confidence.kind = Math.min(...objects.map((o) => o.iou[o.kind]));
  confidence.colour = Math.min(...objects.map((o) => nearest(o.meanRgb, OBJECT_RGB)[1]));
  const cx = objects.reduce((s, o) => s + o.centre[0], 0) / objects.length;
  const cy = objects.reduce((s, o) => s + o.centre[1], 0) / objects.length;
  const off = (p: Position) => Math.hypot(POSITION_CENTRES[p][0] - cx, POSITION_CENTRES[p][1] - cy);
  attributes.position = ATTRIBUTES.position.reduce((a, p) => (off(p) < off(a) ? p : a));
  if (objects.length > 2) return done(`${objects.length} objects (the world has one or two)`);
  attributes.count = objects.length === 1 ? "one" : "two";
  const missing = (["kind", "colour", "size"] as const).filter((a) => attributes[a] === undefined);
  if (missing.length > 0) return done(`the two objects differ in ${missing.join(", ")}`);
  return done();
}
