/**
 * A checkpoint's own training defaults, read as its sampling defaults are
 * (core/models/sampler_defaults.ts): model_index.json may carry `_dd_train_defaults` with
 *
 * - `options`: training options (snake_case names of TrainOptionsSchema, e.g. `batch_size`)
 *   that replace the paper's defaults for this model. The paper's defaults (K 32, S 4, 1500
 *   steps) fit Stable Diffusion on a GPU; a small CPU model learns in far fewer steps.
 * - `seconds_per_step`: the measured time of one step at those options, and `measured_on`,
 *   where: the basis of the duration printed before training.
 * - `domain`: the images the model knows, for a warning when references look foreign
 *   (see {@linkcode domainReport}).
 *
 * @module
 */
import { join } from "node:path";
import { z } from "zod";
import { type TrainOptions, TrainOptionsSchema } from "./train_options.ts";

const Rgb = z.tuple([z.number(), z.number(), z.number()]);

/** zod schema of `_dd_train_defaults.domain`. */
export const DomainSchema = z.object({
  /** Background colours by name (the median of an image's border should be near one). */
  backgrounds: z.record(z.string(), Rgb),
  /** Object colours by name (with the backgrounds, the palette pixels should be near). */
  colours: z.record(z.string(), Rgb),
  /** RGB distance within which a pixel counts as a palette colour. */
  max_distance: z.number().positive(),
  /** Share of pixels that must be near the palette. */
  min_palette_share: z.number().min(0).max(1),
});

/** The domain a model was trained on, as colour statistics. */
export type Domain = z.infer<typeof DomainSchema>;

const TrainDefaultsSchema = z.object({
  options: z.record(z.string(), z.unknown()).default({}),
  seconds_per_step: z.number().positive().optional(),
  measured_on: z.string().optional(),
  domain: DomainSchema.optional(),
});

/** What a checkpoint says about training on it. */
export interface TrainDefaults {
  /** Options replacing the paper's defaults (camelCase, as TrainOptions). */
  options: Partial<TrainOptions>;
  /** Seconds per step at `options`, measured on `measuredOn`. */
  secondsPerStep?: number;
  measuredOn?: string;
  domain?: Domain;
}

const camel = (s: string) => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * Parses a `_dd_train_defaults` object.
 * @throws Error naming the bad field.
 * @example
 * ```ts
 * import { parseTrainDefaults } from "./train_defaults.ts";
 * const d = parseTrainDefaults({ options: { batch_size: 2, steps: 200 } });
 * console.assert(d.options.batchSize === 2 && d.options.steps === 200);
 * ```
 */
export function parseTrainDefaults(json: unknown, where = "_dd_train_defaults"): TrainDefaults {
  const r = TrainDefaultsSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new Error(`${where}.${i.path.join(".")}: ${i.message}`);
  }
  const raw = Object.fromEntries(Object.entries(r.data.options).map(([k, v]) => [camel(k), v]));
  const known = TrainOptionsSchema.partial().strict().safeParse(raw);
  if (!known.success) {
    const i = known.error.issues[0]!;
    throw new Error(`${where}.options${i.path.length ? "." + i.path.join(".") : ""}: ${i.message}`);
  }
  // zod fills the schema's defaults in even under partial(): keep only the keys given.
  const given = Object.fromEntries(
    Object.entries(known.data).filter(([k]) => Object.hasOwn(raw, k)),
  ) as Partial<TrainOptions>;
  return {
    options: given,
    ...(r.data.seconds_per_step !== undefined ? { secondsPerStep: r.data.seconds_per_step } : {}),
    ...(r.data.measured_on !== undefined ? { measuredOn: r.data.measured_on } : {}),
    ...(r.data.domain ? { domain: r.data.domain } : {}),
  };
}

/**
 * Reads `_dd_train_defaults` of `dir/model_index.json`; a missing file or key gives none.
 * @throws Error when the key is present but malformed.
 */
export async function readTrainDefaults(dir: string): Promise<TrainDefaults> {
  const path = join(dir, "model_index.json");
  let index: Record<string, unknown>;
  try {
    index = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { options: {} };
    throw e;
  }
  const d = index._dd_train_defaults;
  return d === undefined ? { options: {} } : parseTrainDefaults(d, `${path}: _dd_train_defaults`);
}

/**
 * Expected seconds of a run: the model's measured step time, scaled by the images the UNet
 * sees per step (batch size x S; textual inversion has S = 1) relative to the defaults'.
 * Undefined when the model gives no step time.
 */
export function expectedSeconds(defaults: TrainDefaults, run: TrainOptions): number | undefined {
  if (defaults.secondsPerStep === undefined) return undefined;
  const paper = TrainOptionsSchema.parse({});
  const perStep = (o: Partial<TrainOptions>) =>
    (o.batchSize ?? paper.batchSize) * (o.mode === "textual_inversion" ? 1 : o.S ?? paper.S);
  return run.steps * defaults.secondsPerStep * perStep(run) / perStep(defaults.options);
}

/** An image as RGB bytes. */
export interface RgbPixels {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Why one reference looks out of the domain (or null when it looks in). */
export interface DomainFinding {
  /** Median border colour, and the nearest domain background with its distance. */
  background: readonly [number, number, number];
  nearestBackground: string;
  backgroundDistance: number;
  /** Share of pixels within `max_distance` of a palette colour. */
  paletteShare: number;
  outside: boolean;
}

const dist = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!, a[2]! - b[2]!);

/**
 * The domain heuristic for one image: its background is the per-channel median of its border
 * pixels, which must lie within `max_distance` of a domain background; and at least
 * `min_palette_share` of its pixels must lie within `max_distance` of a palette colour
 * (backgrounds and object colours). Either failing marks the image as outside. It is a colour
 * test only: it catches photos, white backgrounds and foreign colours, not foreign shapes.
 * @example
 * ```ts
 * import { domainFinding } from "./train_defaults.ts";
 * const domain = {
 *   backgrounds: { black: [0, 0, 0] as [number, number, number] },
 *   colours: { white: [245, 245, 245] as [number, number, number] },
 *   max_distance: 60,
 *   min_palette_share: 0.8,
 * };
 * const white = { width: 2, height: 2, data: new Uint8Array(12).fill(250) };
 * console.assert(domainFinding(white, domain).outside);
 * ```
 */
export function domainFinding(img: RgbPixels, domain: Domain): DomainFinding {
  const { width: w, height: h, data } = img;
  const border: number[] = [];
  for (let x = 0; x < w; x++) border.push(x, (h - 1) * w + x);
  for (let y = 1; y < h - 1; y++) border.push(y * w, y * w + w - 1);
  const median = (c: number) => {
    const v = border.map((p) => data[p * 3 + c]!).sort((a, b) => a - b);
    return v[v.length >> 1]!;
  };
  const bg = [median(0), median(1), median(2)] as const;
  const [nearestBackground, backgroundDistance] = Object.entries(domain.backgrounds)
    .map(([name, rgb]) => [name, dist(bg, rgb)] as const)
    .sort((a, b) => a[1] - b[1])[0] ?? ["none", Infinity];
  const palette = [...Object.values(domain.backgrounds), ...Object.values(domain.colours)];
  let near = 0;
  for (let p = 0; p < w * h; p++) {
    const px = data.subarray(p * 3, p * 3 + 3);
    if (palette.some((rgb) => dist(px, rgb) <= domain.max_distance)) near++;
  }
  const paletteShare = near / Math.max(1, w * h);
  return {
    background: bg,
    nearestBackground,
    backgroundDistance,
    paletteShare,
    outside: backgroundDistance > domain.max_distance || paletteShare < domain.min_palette_share,
  };
}

/**
 * A one-line warning when at least a quarter of the references look outside the model's
 * domain ({@linkcode domainFinding}), else null.
 */
export function domainReport(images: RgbPixels[], domain: Domain, model: string): string | null {
  const findings = images.map((img) => domainFinding(img, domain));
  const out = findings.filter((f) => f.outside);
  if (out.length === 0 || out.length * 4 < images.length) return null;
  const f = out[0]!;
  const share = Math.round(100 * f.paletteShare);
  return `warning: ${out.length} of ${images.length} references look outside ${model}'s ` +
    `domain (e.g. background rgb(${f.background.join(",")}), ${
      Math.round(f.backgroundDistance)
    } from its nearest, ${f.nearestBackground}; ${share}% of pixels in its palette): ` +
    `samples will look like ${model}'s own images (backgrounds: ${
      Object.keys(domain.backgrounds).join(", ")
    }), not like these references`;
}
