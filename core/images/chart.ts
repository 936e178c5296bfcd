/**
 * A dependency-free line-chart rasteriser: axes with ticks, polylines with point markers and
 * labels, a legend and a built-in 5x7 bitmap font, drawn into an {@linkcode RgbImage} (encode it
 * with `encodePng`).
 *
 * @module
 */
import type { RgbImage } from "./types.ts";

/** One line of the chart: its legend label and its points, drawn in order. */
export interface ChartSeries {
  label: string;
  /** Each point may carry a short label (e.g. `"g2"`) drawn beside its marker. */
  points: { x: number; y: number; label?: string }[];
}

/** Titles, axis labels, size (pixels, default 800x560) and optional fixed axis ranges. */
export interface ChartOptions {
  title?: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  /** `[min, max]`; defaults to the data's range padded by 5% each side. */
  xRange?: [number, number];
  /** `[min, max]`; defaults to the data's range padded by 5% each side. */
  yRange?: [number, number];
}

type Rgb = readonly [number, number, number];

/**
 * The series colours, in order (Tableau 10); series beyond ten reuse them cyclically.
 *
 * @example
 * ```ts
 * import { CHART_COLOURS } from "./chart.ts";
 * console.assert(CHART_COLOURS.length >= 8);
 * ```
 */
export const CHART_COLOURS: readonly Rgb[] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [127, 127, 127],
  [188, 189, 34],
  [23, 190, 207],
];

const INK: Rgb = [32, 32, 32];
const GRID: Rgb = [232, 232, 232];
const TICKS = 5;
const MIN_SIZE = 200;
const MAX_SIZE = 4000;

// 5x7 font: records of one character then seven base-32 digits, one per row (bit 4 = left).
const FONT_DATA =
  "AehhhvhhBuhhuhhuCehgggheDsihhhisEvgguggvFvggugggGehgnhhfHhhhvhhhIe44444eJ72222ic" +
  "KhikokihLggggggvMhrllhhhNhhpljhhOehhhhhePuhhugggQehhhlidRuhhukihSfgge11uTv444444" +
  "UhhhhhheVhhhhha4WhhhlllaXhha4ahhYhhha444Zv1248gv0ehjlphe14c4444e2eh1248v3v2421he" +
  "426aiv225vgu11he668guhhe7v1248888ehhehhe9ehhf12ca00e1fhfbggmphhuc00egghed11djhhf" +
  "e00ehvgef698s888g0fhhf1ehggmphhhi40c444ej20622ickggikokilc44444em00qllhhn00mphhh" +
  "o00ehhhep0uhhuggq0fhhf11r00mpgggs00ege1ut88s8896u00hhhjdv00hhha4w00hhllax00ha4ah" +
  "y0hhhf1ez00v248v 0000000.00000cc,0000c48-000v000_000000v+044v440(2488842)8422248" +
  ":0cc0cc0/01248g0%op248j3=00v0v00<248g842>8421248!4444404?eh12404[e88888e]e22222e" +
  "*04lel40#aavavaa'4480000\"aaa0000|4444444&cik8lid";
const FONT = new Map<string, number[]>();
for (let i = 0; i + 8 <= FONT_DATA.length; i += 8) {
  const rows = [...FONT_DATA.slice(i + 1, i + 8)].map((d) => parseInt(d, 32));
  FONT.set(FONT_DATA.charAt(i), rows);
}
const UNKNOWN_GLYPH = [0, 31, 17, 17, 17, 31, 0];
/** Glyphs drawn one row lower, so their tails hang below the line. */
const DESCENDERS = "gjpqy";
const GLYPH_W = 5;
const GLYPH_H = 7;
const ADVANCE = GLYPH_W + 1;

interface Rect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

function setPixel(img: RgbImage, x: number, y: number, c: Rgb, clip?: Rect): void {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  if (clip && (x < clip.x0 || x > clip.x1 || y < clip.y0 || y > clip.y1)) return;
  const o = (y * img.width + x) * 3;
  img.data[o] = c[0];
  img.data[o + 1] = c[1];
  img.data[o + 2] = c[2];
}

function fillRect(img: RgbImage, x: number, y: number, w: number, h: number, c: Rgb, clip?: Rect) {
  for (let j = y; j < y + h; j++) for (let i = x; i < x + w; i++) setPixel(img, i, j, c, clip);
}

/**
 * Width in pixels of `text` in the built-in 5×7 font at `scale`.
 *
 * @example
 * ```ts
 * import { textWidth } from "./chart.ts";
 * console.assert(textWidth("ab") === 11);
 * ```
 */
export function textWidth(text: string, scale = 1): number {
  const n = [...text].length;
  return n === 0 ? 0 : (n * ADVANCE - 1) * scale;
}

/**
 * Draws `text` in the built-in 5×7 font with its top-left at (x, y), in place; `up` turns it
 * 90 degrees anticlockwise. Pixels outside the image are skipped.
 *
 * @example
 * ```ts
 * import { drawText } from "./chart.ts";
 * const img = { width: 20, height: 10, data: new Uint8Array(600).fill(255) };
 * drawText(img, "I", 1, 1, [0, 0, 0]);
 * console.assert(img.data.some((v) => v === 0));
 * ```
 */
export function drawText(
  img: RgbImage,
  text: string,
  x: number,
  y: number,
  c: Rgb,
  scale = 1,
  up = false,
) {
  let pen = 0;
  for (const ch of text) {
    const rows = FONT.get(ch) ?? UNKNOWN_GLYPH;
    const drop = DESCENDERS.includes(ch) ? 1 : 0;
    rows.forEach((bits, row) => {
      const gy = row + drop;
      for (let gx = 0; gx < GLYPH_W; gx++) {
        if (!(bits & (1 << (GLYPH_W - 1 - gx)))) continue;
        const u = (pen + gx) * scale;
        const v = gy * scale;
        if (up) fillRect(img, x + v, y - u - scale + 1, scale, scale, c);
        else fillRect(img, x + u, y + v, scale, scale, c);
      }
    });
    pen += ADVANCE;
  }
}

/** Clips the segment to `r` (Liang-Barsky); null when it misses. */
function clipSegment(a: number[], b: number[], r: Rect): [number, number, number, number] | null {
  const [ax = 0, ay = 0] = a;
  const dx = (b[0] ?? 0) - ax;
  const dy = (b[1] ?? 0) - ay;
  let t0 = 0;
  let t1 = 1;
  const edges = [[-dx, ax - r.x0], [dx, r.x1 - ax], [-dy, ay - r.y0], [dy, r.y1 - ay]] as const;
  for (const [p, q] of edges) {
    if (p === 0) {
      if (q < 0) return null;
    } else if (p < 0) t0 = Math.max(t0, q / p);
    else t1 = Math.min(t1, q / p);
  }
  if (t0 > t1) return null;
  return [ax + t0 * dx, ay + t0 * dy, ax + t1 * dx, ay + t1 * dy];
}

/** A 2-pixel line, stepped along its longer axis, clipped to `clip`. */
function drawLine(img: RgbImage, a: number[], b: number[], c: Rgb, clip: Rect): void {
  const seg = clipSegment(a, b, clip);
  if (!seg) return;
  const [x0, y0, x1, y1] = seg.map(Math.round) as [number, number, number, number];
  const steps = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0));
  for (let s = 0; s <= steps; s++) {
    const t = steps === 0 ? 0 : s / steps;
    const x = Math.round(x0 + (x1 - x0) * t);
    const y = Math.round(y0 + (y1 - y0) * t);
    fillRect(img, x, y, 2, 2, c, clip);
  }
}

/** Tick label text: up to 2 decimals, trailing zeros trimmed, never "-0". */
function formatTick(v: number): string {
  const n = Number(v.toFixed(2));
  return Object.is(n, -0) ? "0" : String(n);
}

function resolveRange(values: number[], given: [number, number] | undefined, axis: string) {
  const fromData = (): [number, number] => [
    values.reduce((a, v) => Math.min(a, v), Infinity),
    values.reduce((a, v) => Math.max(a, v), -Infinity),
  ];
  let [lo, hi] = given ?? fromData();
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || lo > hi) {
    throw new RangeError(
      `lineChart: ${axis} range must be finite with min <= max, got ${lo}..${hi}`,
    );
  }
  const span = hi - lo;
  const pad = given && span > 0 ? 0 : span > 0 ? span * 0.05 : Math.abs(lo) * 0.05;
  [lo, hi] = [lo - pad, hi + pad];
  if (!(hi > lo)) [lo, hi] = [lo - 1, hi + 1];
  if (!(hi > lo) || !Number.isFinite(hi - lo)) {
    throw new RangeError(`lineChart: cannot scale the ${axis} axis over ${lo}..${hi}`);
  }
  return { lo, hi };
}

function checkInputs(series: ChartSeries[], width: number, height: number): void {
  for (const [name, v] of [["width", width], ["height", height]] as const) {
    if (!Number.isInteger(v) || v < MIN_SIZE || v > MAX_SIZE) {
      throw new RangeError(`lineChart: ${name} must be an integer in ${MIN_SIZE}..${MAX_SIZE}`);
    }
  }
  if (series.length === 0) throw new RangeError("lineChart: no series to draw");
  for (const s of series) {
    if (s.points.length === 0) throw new RangeError(`lineChart: series "${s.label}" has no points`);
    for (const p of s.points) {
      if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) {
        throw new RangeError(`lineChart: series "${s.label}" has a non-finite point ${p.x},${p.y}`);
      }
    }
  }
}

/** Legend items laid out in rows below the plot; rows beyond `maxRows` are dropped. */
function layoutLegend(series: ChartSeries[], left: number, right: number, maxRows: number) {
  const items: { x: number; row: number; label: string; colour: Rgb }[] = [];
  let x = left;
  let row = 0;
  series.forEach((s, i) => {
    const w = 14 + textWidth(s.label) + 16;
    if (x > left && x + w > right) [x, row] = [left, row + 1];
    if (row < maxRows) items.push({ x, row, label: s.label, colour: colourOf(i) });
    x += w;
  });
  return { items, rows: Math.min(row + 1, maxRows) };
}

const colourOf = (i: number): Rgb => CHART_COLOURS[i % CHART_COLOURS.length] ?? INK;

/**
 * Draws series as 2-pixel polylines with square point markers (and point labels) on white,
 * with 5 labelled ticks per axis, axis labels, an optional title and a legend below the plot.
 *
 * @param series The lines; series `i` gets `CHART_COLOURS[i % 10]`.
 * @param options Labels, size (default 800x560) and optional fixed ranges.
 * @returns The chart as an RGB image.
 * @throws RangeError for no series, a series without points, a non-finite coordinate or range,
 *   or a width or height outside 200..4000.
 *
 * @example
 * ```ts
 * import { lineChart } from "./chart.ts";
 * const img = lineChart(
 *   [{ label: "loss", points: [{ x: 0, y: 1 }, { x: 1, y: 0.5, label: "g2" }] }],
 *   { title: "Training", xLabel: "step", yLabel: "loss", width: 400, height: 300 },
 * );
 * console.assert(img.data.length === 400 * 300 * 3);
 * ```
 */
export function lineChart(series: ChartSeries[], options: ChartOptions): RgbImage {
  const { title, xLabel, yLabel, width = 800, height = 560 } = options;
  checkInputs(series, width, height);
  const img: RgbImage = { width, height, data: new Uint8Array(width * height * 3).fill(255) };
  const all = series.flatMap((s) => s.points);
  const xr = resolveRange(all.map((p) => p.x), options.xRange, "x");
  const yr = resolveRange(all.map((p) => p.y), options.yRange, "y");
  const ticks = (r: { lo: number; hi: number }) =>
    Array.from({ length: TICKS }, (_, i) => r.lo + ((r.hi - r.lo) * i) / (TICKS - 1));
  const xTicks = ticks(xr).map(formatTick);
  const yTicks = ticks(yr).map(formatTick);

  // 1. Layout: margins from the text they hold; the legend gets up to a third of the height.
  const hasTitle = title !== undefined && title !== "";
  const top = hasTitle ? 12 + GLYPH_H * 2 + 12 : 16;
  const left = 8 + GLYPH_H + 10 + Math.max(...yTicks.map((t) => textWidth(t))) + 4 + 5;
  const right = width - Math.max(20, Math.ceil(textWidth(xTicks.at(-1) ?? "") / 2) + 4);
  const maxRows = Math.max(1, Math.floor(height / 3 / 14));
  const legend = layoutLegend(series, left, right, maxRows);
  const bottom = height - (5 + 4 + GLYPH_H + 8 + GLYPH_H + 12 + legend.rows * 14 + 4);
  const plot: Rect = { x0: left, y0: top, x1: right, y1: bottom };
  const px = (x: number) => plot.x0 + ((x - xr.lo) / (xr.hi - xr.lo)) * (plot.x1 - plot.x0);
  const py = (y: number) => plot.y1 - ((y - yr.lo) / (yr.hi - yr.lo)) * (plot.y1 - plot.y0);

  // 2. Grid, axes, ticks and their labels.
  for (let i = 0; i < TICKS; i++) {
    const gx = Math.round(plot.x0 + ((plot.x1 - plot.x0) * i) / (TICKS - 1));
    const gy = Math.round(plot.y1 - ((plot.y1 - plot.y0) * i) / (TICKS - 1));
    fillRect(img, gx, plot.y0, 1, plot.y1 - plot.y0, GRID);
    fillRect(img, plot.x0, gy, plot.x1 - plot.x0 + 1, 1, GRID);
    fillRect(img, gx, plot.y1, 1, 6, INK);
    fillRect(img, plot.x0 - 5, gy, 5, 1, INK);
    const xt = xTicks[i] ?? "";
    const yt = yTicks[i] ?? "";
    drawText(img, xt, gx - Math.floor(textWidth(xt) / 2), plot.y1 + 9, INK);
    drawText(img, yt, plot.x0 - 9 - textWidth(yt), gy - 3, INK);
  }
  fillRect(img, plot.x0, plot.y0, 1, plot.y1 - plot.y0 + 1, INK);
  fillRect(img, plot.x0, plot.y1, plot.x1 - plot.x0 + 1, 1, INK);

  // 3. Title and axis labels.
  const midX = Math.round((plot.x0 + plot.x1) / 2);
  if (hasTitle) drawText(img, title, midX - Math.floor(textWidth(title, 2) / 2), 12, INK, 2);
  drawText(img, xLabel, midX - Math.floor(textWidth(xLabel) / 2), plot.y1 + 9 + GLYPH_H + 8, INK);
  const midY = Math.round((plot.y0 + plot.y1) / 2);
  drawText(img, yLabel, 8, midY + Math.floor(textWidth(yLabel) / 2), INK, 1, true);

  // 4. Series: polyline, then markers and point labels on top.
  series.forEach((s, i) => {
    const c = colourOf(i);
    const pts = s.points.map((p) => [px(p.x), py(p.y)]);
    for (let k = 1; k < pts.length; k++) drawLine(img, pts[k - 1] ?? [], pts[k] ?? [], c, plot);
    s.points.forEach((p, k) => {
      const [x = 0, y = 0] = (pts[k] ?? []).map(Math.round);
      if (x < plot.x0 || x > plot.x1 || y < plot.y0 || y > plot.y1) return;
      fillRect(img, x - 2, y - 2, 5, 5, c, plot);
      if (p.label) drawText(img, p.label, x + 5, y - 10, c);
    });
  });

  // 5. Legend: swatch and label per series.
  const legendTop = height - legend.rows * 14 - 4;
  for (const item of legend.items) {
    const y = legendTop + item.row * 14;
    fillRect(img, item.x, y, 10, 10, item.colour);
    drawText(img, item.label, item.x + 14, y + 2, INK);
  }
  return img;
}
