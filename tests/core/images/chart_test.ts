import assert from "node:assert/strict";
import {
  CHART_COLOURS,
  type ChartOptions,
  type ChartSeries,
  lineChart,
} from "../../../core/images/chart.ts";
import type { RgbImage } from "../../../core/images/types.ts";

type Rgb = readonly [number, number, number];
const at = (img: RgbImage, x: number, y: number) => [
  ...img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3),
];
const is = (img: RgbImage, x: number, y: number, c: Rgb) =>
  at(img, x, y).every((v, i) => v === c[i]);
/** The rows of column `x` that have colour `c`. */
const rowsOf = (img: RgbImage, x: number, c: Rgb) =>
  Array.from({ length: img.height }, (_, y) => y).filter((y) => is(img, x, y, c));
const colour = (i: number): Rgb => CHART_COLOURS[i] ?? [0, 0, 0];
const flat = (label: string, y: number): ChartSeries => ({
  label,
  points: [{ x: 0, y }, { x: 10, y }],
});
const axes: ChartOptions = { xLabel: "x", yLabel: "y" };
const opts: ChartOptions = { ...axes, xRange: [0, 10], yRange: [0, 10] };
/** How many pixels have colour `c`. */
const count = (img: RgbImage, c: Rgb) => {
  let n = 0;
  for (let p = 0; p < img.width * img.height; p++) {
    n += [0, 1, 2].every((k) => img.data[p * 3 + k] === c[k]) ? 1 : 0;
  }
  return n;
};
/** Pixels that differ between two same-sized images. */
const diff = (a: RgbImage, b: RgbImage) => {
  const ys: number[] = [];
  for (let p = 0; p < a.width * a.height; p++) {
    if ([0, 1, 2].some((k) => a.data[p * 3 + k] !== b.data[p * 3 + k])) {
      ys.push(Math.floor(p / a.width));
    }
  }
  return ys;
};

Deno.test("lineChart() returns the requested size on a white background", () => {
  const img = lineChart([flat("a", 5)], opts);
  assert.deepEqual([img.width, img.height, img.data.length], [800, 560, 800 * 560 * 3]);
  assert.deepEqual(at(img, 798, 1), [255, 255, 255]);
  const small = lineChart([flat("a", 5)], { ...opts, width: 300, height: 240 });
  assert.deepEqual([small.width, small.height, small.data.length], [300, 240, 300 * 240 * 3]);
  assert.deepEqual(at(small, 298, 1), [255, 255, 255]);
});

Deno.test("lineChart() draws a horizontal line between points in the series colour", () => {
  const img = lineChart([flat("a", 5)], opts);
  const rows = rowsOf(img, 400, colour(0));
  assert.ok(rows.length >= 1 && rows.length <= 2, `rows ${rows}`);
  const y = rows[0] ?? 0;
  assert.ok(y > 0.3 * img.height && y < 0.7 * img.height, `line at row ${y}`);
  for (const c of CHART_COLOURS.slice(1)) assert.deepEqual(rowsOf(img, 400, c), []);
});

Deno.test("lineChart() gives each series a distinct colour from CHART_COLOURS", () => {
  assert.ok(CHART_COLOURS.length >= 8);
  CHART_COLOURS.forEach((a, i) =>
    CHART_COLOURS.slice(i + 1).forEach((b) => {
      const d = a.reduce((s, v, k) => s + Math.abs(v - (b[k] ?? 0)), 0);
      assert.ok(d > 60, `${a} too close to ${b}`);
    })
  );
  const img = lineChart([flat("low", 2), flat("high", 8)], opts);
  const low = rowsOf(img, 400, colour(0));
  const high = rowsOf(img, 400, colour(1));
  assert.ok(low.length > 0 && high.length > 0);
  assert.ok((low[0] ?? 0) > (high[0] ?? 0) + 50, "series 0 (y=2) should be below series 1 (y=8)");
});

Deno.test("lineChart() draws a legend with a swatch and label per series", () => {
  const img = lineChart([flat("first", 5), flat("second", 6)], opts);
  const bottom = (c: Rgb) => {
    let n = 0;
    for (let y = img.height - 30; y < img.height; y++) {
      for (let x = 0; x < img.width; x++) n += is(img, x, y, c) ? 1 : 0;
    }
    return n;
  };
  assert.equal(bottom(colour(0)), 100); // a 10x10 swatch each
  assert.equal(bottom(colour(1)), 100);
  const renamed = lineChart([flat("first", 5), flat("other", 6)], opts);
  const ys = diff(img, renamed);
  assert.ok(ys.length > 0 && ys.every((y) => y >= img.height - 30), "only the legend changes");
});

Deno.test("lineChart() draws point labels beside markers in the series colour", () => {
  const plain = lineChart([{ label: "a", points: [{ x: 2, y: 2 }, { x: 8, y: 8 }] }], opts);
  const labelled = lineChart(
    [{ label: "a", points: [{ x: 2, y: 2 }, { x: 8, y: 8, label: "g2" }] }],
    opts,
  );
  assert.ok(diff(plain, labelled).length > 10);
  assert.ok(count(labelled, colour(0)) > count(plain, colour(0)) + 10);
});

Deno.test("lineChart() renders glyphs from its bitmap font, unknown ones as a box", () => {
  const titled = (title: string) => lineChart([flat("a", 5)], { ...opts, title });
  const blank = titled(" ");
  const one = diff(blank, titled("I"));
  assert.equal(one.length, 11 * 4); // 11 set pixels in "I", each 2x2 in the title
  assert.ok(one.every((y) => y < 40));
  assert.equal(diff(blank, titled("@")).length, 16 * 4); // the fallback box
  assert.ok(diff(titled("I"), titled("1")).length > 0);
  assert.ok(diff(titled("a"), titled("A")).length > 0);
});

Deno.test("lineChart() handles degenerate ranges and points outside a fixed range", () => {
  const single = lineChart([{ label: "p", points: [{ x: 3, y: 3 }] }], axes);
  assert.equal(single.data.length, 800 * 560 * 3);
  const zero = lineChart([{ label: "p", points: [{ x: 0, y: 0 }, { x: 0, y: 0 }] }], axes);
  const equal = lineChart([flat("a", 7)], { ...axes, yRange: [7, 7] });
  for (const img of [single, zero, equal]) {
    assert.deepEqual(at(img, 798, 1), [255, 255, 255]);
    assert.ok(count(img, colour(0)) >= 100 + 25, "legend swatch plus at least one marker");
  }
  assert.ok(rowsOf(equal, 400, colour(0)).length > 0, "the flat line is drawn");
  const far = lineChart([{ label: "a", points: [{ x: -1e12, y: 5 }, { x: 1e12, y: 5 }] }], opts);
  assert.ok(rowsOf(far, 400, colour(0)).length > 0, "a clipped line still crosses the plot");
});

Deno.test("lineChart() throws RangeError for bad input", () => {
  const ok = [flat("a", 1)];
  const bad: [ChartSeries[], Partial<ChartOptions>][] = [
    [[], {}],
    [[{ label: "empty", points: [] }], {}],
    [[{ label: "nan", points: [{ x: NaN, y: 1 }] }], {}],
    [[{ label: "inf", points: [{ x: 1, y: Infinity }] }], {}],
    [ok, { width: 199 }],
    [ok, { height: 4001 }],
    [ok, { width: 250.5 }],
    [ok, { xRange: [1, 0] }],
    [ok, { yRange: [0, NaN] }],
  ];
  for (const [series, o] of bad) {
    assert.throws(() => lineChart(series, { xLabel: "x", yLabel: "y", ...o }), RangeError);
  }
  assert.doesNotThrow(() => lineChart(ok, { ...opts, width: 200, height: 4000 }));
});
