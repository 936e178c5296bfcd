/**
 * The procedural shape world: its attributes, palettes, layout and scene sampling.
 *
 * A scene is one choice per attribute (3 kinds × 7 colours × 2 sizes × 2 counts × 5 positions
 * × 4 backgrounds = 1680 scenes). Everything is drawn on a 32×32 canvas in pixel-index
 * coordinates: an object is centred on a pixel and has an integer half-extent, so its bounding
 * box is `2h + 1` pixels wide (small: h = 4, 9 px; large: h = 6, 13 px).
 *
 * Layout: the position names the region the object (or the pair) sits in, through the region
 * centre `POSITION_CENTRES`. A pair sits side by side across that centre, `PAIR_OFFSET[size]`
 * pixels either way: along x for top, bottom and center, along y for left and right (those
 * regions are columns). The offsets leave a gap of 3 px between the two objects, and every
 * combination fits inside the canvas with at least 1 px of margin, so every scene is renderable
 * without overlap or clipping (no attribute combination is excluded).
 *
 * @module
 */
import { Rng } from "../random.ts";

/** Canvas side in pixels. */
export const WORLD_SIZE = 32;

/** The attribute values, in a fixed order (the order indexes one-hot features). */
export const ATTRIBUTES = {
  kind: ["circle", "square", "triangle"],
  colour: ["red", "green", "blue", "yellow", "purple", "orange", "white"],
  size: ["small", "large"],
  count: ["one", "two"],
  position: ["top", "bottom", "left", "right", "center"],
  background: ["black", "dark blue", "dark green", "gray"],
} as const;

/** The name of an attribute. */
export type Attr = keyof typeof ATTRIBUTES;
/** A shape kind. */
export type Kind = typeof ATTRIBUTES.kind[number];
/** An object colour. */
export type Colour = typeof ATTRIBUTES.colour[number];
/** An object size. */
export type Size = typeof ATTRIBUTES.size[number];
/** How many objects (two objects share kind, colour and size). */
export type Count = typeof ATTRIBUTES.count[number];
/** The region of the canvas the object(s) sit in. */
export type Position = typeof ATTRIBUTES.position[number];
/** A background colour. */
export type Background = typeof ATTRIBUTES.background[number];

/**
 * One scene of the world: a value for every attribute.
 *
 * @example
 * ```ts
 * import type { Scene } from "./scene.ts";
 * const s: Scene = {
 *   kind: "circle", colour: "red", size: "small", count: "two", position: "top",
 *   background: "dark blue",
 * };
 * ```
 */
export interface Scene {
  kind: Kind;
  colour: Colour;
  size: Size;
  count: Count;
  position: Position;
  background: Background;
}

/** A restriction of some attributes to lists of allowed values (absent: any value). */
export type SceneConstraints = { [A in Attr]?: readonly Scene[A][] };

/** An RGB triple, 0–255. */
export type Rgb = readonly [number, number, number];

/**
 * Object colours, well separated from each other (≥ 80 apart in RGB) and from every background
 * (≥ 110 apart), so nearest-palette snapping survives noise and blur.
 */
export const OBJECT_RGB: Readonly<Record<Colour, Rgb>> = {
  red: [220, 40, 40],
  green: [40, 190, 60],
  blue: [50, 100, 240],
  yellow: [240, 220, 40],
  purple: [150, 60, 210],
  orange: [250, 140, 20],
  white: [245, 245, 245],
};

/** Background colours, all dark or mid-grey so every object stands out. */
export const BACKGROUND_RGB: Readonly<Record<Background, Rgb>> = {
  "black": [0, 0, 0],
  "dark blue": [20, 30, 100],
  "dark green": [20, 80, 30],
  "gray": [120, 120, 120],
};

/** Half-extent `h` of an object in pixels: its bounding box is `2h + 1` wide and high. */
export const HALF_EXTENT: Readonly<Record<Size, number>> = { small: 4, large: 6 };

/** Distance from a pair's centre to each object's centre (gap of 3 px between the objects). */
export const PAIR_OFFSET: Readonly<Record<Size, number>> = { small: 6, large: 8 };

/** The pixel each region is centred on, `[x, y]`. */
export const POSITION_CENTRES: Readonly<Record<Position, readonly [number, number]>> = {
  top: [16, 8],
  bottom: [16, 23],
  left: [8, 16],
  right: [23, 16],
  center: [16, 16],
};

/**
 * The object centres of a scene, before jitter: one, or a pair side by side across the region
 * centre (along x for top/bottom/center, along y for left/right).
 *
 * @example
 * ```ts
 * import { objectCentres } from "./scene.ts";
 * const c = objectCentres({
 *   kind: "square", colour: "red", size: "large", count: "two", position: "left",
 *   background: "black",
 * });
 * console.assert(c.length === 2 && c[0]![0] === 8 && c[0]![1] === 8 && c[1]![1] === 24);
 * ```
 */
export function objectCentres(scene: Scene): [number, number][] {
  const [x, y] = POSITION_CENTRES[scene.position];
  if (scene.count === "one") return [[x, y]];
  const d = PAIR_OFFSET[scene.size];
  const vertical = scene.position === "left" || scene.position === "right";
  return vertical ? [[x, y - d], [x, y + d]] : [[x - d, y], [x + d, y]];
}

/** Attribute names in order. */
export const ATTR_NAMES: readonly Attr[] = Object.keys(ATTRIBUTES) as Attr[];

/** The values a constraint allows for one attribute (all of them when unconstrained). */
export function allowedValues<A extends Attr>(
  attr: A,
  constraints: SceneConstraints = {},
): readonly Scene[A][] {
  const all = ATTRIBUTES[attr] as readonly string[] as readonly Scene[A][];
  const allowed = constraints[attr] as readonly Scene[A][] | undefined;
  if (allowed === undefined) return all;
  const ok = all.filter((v) => allowed.includes(v));
  if (ok.length === 0 || ok.length !== new Set(allowed).size) {
    throw new RangeError(`constraint on ${attr}: unknown or no values in [${allowed.join(", ")}]`);
  }
  return ok;
}

/**
 * Draws a scene uniformly over the attributes, each restricted to the values `constraints`
 * allows. Each attribute uses one uniform draw, in `ATTR_NAMES` order.
 *
 * @throws RangeError when a constraint lists an unknown value or none.
 * @example
 * ```ts
 * import { Rng } from "../random.ts";
 * import { sampleScene } from "./scene.ts";
 * const s = sampleScene(new Rng(1), { kind: ["circle", "triangle"], position: ["top"] });
 * console.assert(s.position === "top" && s.kind !== "square");
 * ```
 */
export function sampleScene(rng: Rng, constraints: SceneConstraints = {}): Scene {
  const pick = <A extends Attr>(attr: A): Scene[A] => {
    const vals = allowedValues(attr, constraints);
    return vals[Math.min(vals.length - 1, Math.floor(rng.uniform() * vals.length))]!;
  };
  return {
    kind: pick("kind"),
    colour: pick("colour"),
    size: pick("size"),
    count: pick("count"),
    position: pick("position"),
    background: pick("background"),
  };
}

/**
 * Every scene allowed by `constraints`, in a fixed order (1680 without constraints).
 *
 * @example
 * ```ts
 * import { enumerateScenes } from "./scene.ts";
 * console.assert(enumerateScenes().length === 1680);
 * console.assert(enumerateScenes({ count: ["two"], position: ["bottom"] }).length === 168);
 * ```
 */
export function enumerateScenes(constraints: SceneConstraints = {}): Scene[] {
  let out: Partial<Scene>[] = [{}];
  for (const attr of ATTR_NAMES) {
    const vals = allowedValues(attr, constraints);
    out = out.flatMap((s) => vals.map((v) => ({ ...s, [attr]: v })));
  }
  return out as Scene[];
}

/**
 * Whether a scene lies inside a constraint's support (every constrained attribute allowed).
 *
 * @example
 * ```ts
 * import { satisfies } from "./scene.ts";
 * const s = {
 *   kind: "circle", colour: "red", size: "small", count: "one", position: "top",
 *   background: "black",
 * } as const;
 * console.assert(satisfies(s, { colour: ["red", "orange"] }));
 * console.assert(!satisfies(s, { kind: ["square"] }));
 * ```
 */
export function satisfies(scene: Scene, constraints: SceneConstraints): boolean {
  return ATTR_NAMES.every((a) => {
    const allowed = constraints[a] as readonly string[] | undefined;
    return allowed === undefined || allowed.includes(scene[a]);
  });
}

/**
 * A scene's attribute combination as a string key (equal keys: equal scenes).
 *
 * @example
 * ```ts
 * import { sceneKey } from "./scene.ts";
 * const k = sceneKey({
 *   kind: "circle", colour: "red", size: "small", count: "one", position: "top",
 *   background: "black",
 * });
 * console.assert(k === "circle|red|small|one|top|black");
 * ```
 */
export function sceneKey(scene: Scene): string {
  return ATTR_NAMES.map((a) => scene[a]).join("|");
}
