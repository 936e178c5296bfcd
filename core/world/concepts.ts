/**
 * Named concepts of the shape world: sets of scenes that no single caption names (several kinds,
 * colours, positions or backgrounds at once), for the demo and the evaluation.
 *
 * A concept is a restriction of some attributes (`constraints`); its support is every scene
 * that satisfies them, and its reference scenes are drawn uniformly from that support.
 *
 * @module
 */
import type { RgbImage } from "../images/mod.ts";
import { Rng } from "../random.ts";
import { caption } from "./caption.ts";
import { render } from "./render.ts";
import {
  ATTRIBUTES,
  enumerateScenes,
  sampleScene,
  satisfies,
  type Scene,
  type SceneConstraints,
} from "./scene.ts";

/** A named set of scenes. */
export interface Concept {
  /** Short identifier, kebab-case. */
  readonly name: string;
  /** One sentence for people. */
  readonly description: string;
  /** The allowed values of the constrained attributes (others: any value). */
  readonly constraints: SceneConstraints;
  /** `n` scenes drawn uniformly from the support, deterministic per seed. */
  referenceScenes(seed: number, n: number): Scene[];
  /** The reference scenes rendered, each with its own layout jitter (deterministic per seed). */
  referenceImages(seed: number, n: number): { scene: Scene; image: RgbImage }[];
  /** Whether a scene lies in the support (null, as from a failed analysis, never does). */
  support(scene: Scene | null): boolean;
  /** The concept's own caption set: the distinct captions of its reference scenes, in order. */
  captions(seed?: number, n?: number): string[];
  /** Every scene of the support. */
  supportScenes(): Scene[];
}

/** Default number of reference scenes (the demo ships 8–16 reference images). */
export const DEFAULT_REFERENCES = 16;

/**
 * Makes a concept from its constraints.
 *
 * @example
 * ```ts
 * import { defineConcept } from "./concepts.ts";
 * const c = defineConcept("red-things", "anything red", { colour: ["red"] });
 * console.assert(c.referenceScenes(0, 4).every((s) => s.colour === "red"));
 * console.assert(c.supportScenes().length === 1680 / 7);
 * ```
 */
export function defineConcept(
  name: string,
  description: string,
  constraints: SceneConstraints,
): Concept {
  enumerateScenes(constraints); // throws on unknown values
  const referenceScenes = (seed: number, n: number): Scene[] => {
    const rng = new Rng(seed).fork(`concept:${name}`);
    return Array.from({ length: n }, (_, i) => sampleScene(rng.fork(i), constraints));
  };
  return {
    name,
    description,
    constraints,
    referenceScenes,
    referenceImages: (seed, n) =>
      referenceScenes(seed, n).map((scene, i) => ({
        scene,
        image: render(scene, jitterSeed(seed, i)),
      })),
    support: (scene) => scene !== null && satisfies(scene, constraints),
    captions: (seed = 0, n = DEFAULT_REFERENCES) => [
      ...new Set(referenceScenes(seed, n).map(caption)),
    ],
    supportScenes: () => enumerateScenes(constraints),
  };
}

/** The render seed of reference image `i` of a set drawn with `seed`. */
function jitterSeed(seed: number, i: number): number {
  return new Rng(seed).fork("concept-jitter").fork(i).nextUint32();
}

/**
 * The shipped concepts, none of which a single caption names.
 *
 * - `warm-shapes-dark`: circles or triangles, red/orange/yellow, on black or dark blue, at the
 *   top (any size, one or two): 48 scenes.
 * - `cool-squares`: squares, green/blue/purple, on gray (any size, count, position): 60 scenes.
 * - `pairs-bottom`: two objects at the bottom (any kind, colour, size, background): 168 scenes.
 * - `small-white-anything`: small white objects on dark green (any kind, count, position): 30.
 * - `large-circles-sides`: one large circle on the left or right, any colour, on black or gray:
 *   28 scenes.
 *
 * @example
 * ```ts
 * import { CONCEPTS } from "./concepts.ts";
 * const warm = CONCEPTS["warm-shapes-dark"];
 * console.assert(warm.referenceScenes(0, 16).every((s) => warm.support(s)));
 * console.assert(warm.captions().length > 1);
 * ```
 */
export const CONCEPTS: Readonly<Record<ConceptName, Concept>> = {
  "warm-shapes-dark": defineConcept(
    "warm-shapes-dark",
    "circles or triangles in warm colours (red, orange, yellow) on a dark background " +
      "(black or dark blue), at the top",
    {
      kind: ["circle", "triangle"],
      colour: ["red", "orange", "yellow"],
      background: ["black", "dark blue"],
      position: ["top"],
    },
  ),
  "cool-squares": defineConcept(
    "cool-squares",
    "squares in cool colours (green, blue, purple) on a gray background, any size and place",
    { kind: ["square"], colour: ["green", "blue", "purple"], background: ["gray"] },
  ),
  "pairs-bottom": defineConcept(
    "pairs-bottom",
    "two objects side by side at the bottom, any kind, colour, size and background",
    { count: ["two"], position: ["bottom"] },
  ),
  "small-white-anything": defineConcept(
    "small-white-anything",
    "small white objects of any kind, one or two, anywhere, on a dark green background",
    { size: ["small"], colour: ["white"], background: ["dark green"] },
  ),
  "large-circles-sides": defineConcept(
    "large-circles-sides",
    "one large circle of any colour on the left or right, on a black or gray background",
    {
      kind: ["circle"],
      size: ["large"],
      count: ["one"],
      position: ["left", "right"],
      background: ["black", "gray"],
    },
  ),
};

/**
 * The names of the shipped concepts, in order.
 *
 * @example
 * ```ts
 * import { CONCEPT_NAMES, CONCEPTS } from "./concepts.ts";
 * console.assert(CONCEPT_NAMES.every((n) => CONCEPTS[n].name === n));
 * ```
 */
export const CONCEPT_NAMES = [
  "warm-shapes-dark",
  "cool-squares",
  "pairs-bottom",
  "small-white-anything",
  "large-circles-sides",
] as const;

/** The name of a shipped concept. */
export type ConceptName = typeof CONCEPT_NAMES[number];

/**
 * Parses a concepts file: a JSON array of `{"name", "description", "constraints"}` with
 * attribute names and values as in scene.ts (`ATTRIBUTES`).
 *
 * @throws RangeError naming the entry and the field for anything else: not an array, a
 *   missing or non-string name, an unknown attribute or value, an empty value list, or a
 *   duplicate name.
 * @example
 * ```ts
 * import { parseConceptsFile } from "./concepts.ts";
 * const [c] = parseConceptsFile('[{"name":"reds","description":"red things",' +
 *   '"constraints":{"colour":["red"]}}]');
 * console.assert(c!.supportScenes().length === 240);
 * ```
 */
export function parseConceptsFile(text: string): Concept[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new RangeError(`concepts file: not JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(data) || data.length === 0) {
    throw new RangeError("concepts file: expected a non-empty JSON array of concepts");
  }
  const seen = new Set<string>();
  return data.map((entry, i) => {
    const where = `concepts file: entry ${i}`;
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      throw new RangeError(`${where}: expected an object`);
    }
    const { name, description, constraints } = entry as Record<string, unknown>;
    if (typeof name !== "string" || !/^[a-z0-9][a-z0-9_-]{0,63}$/.test(name)) {
      throw new RangeError(
        `${where}: "name" must be 1-64 of a-z 0-9 _ - (got ${JSON.stringify(name)})`,
      );
    }
    if (seen.has(name)) throw new RangeError(`${where}: duplicate name ${name}`);
    seen.add(name);
    if (description !== undefined && typeof description !== "string") {
      throw new RangeError(`${where} (${name}): "description" must be a string`);
    }
    if (typeof constraints !== "object" || constraints === null || Array.isArray(constraints)) {
      throw new RangeError(`${where} (${name}): "constraints" must be an object`);
    }
    const out: Record<string, string[]> = {};
    for (const [attr, values] of Object.entries(constraints)) {
      if (!Object.hasOwn(ATTRIBUTES, attr)) {
        throw new RangeError(
          `${where} (${name}): unknown attribute "${attr}"; known: ${
            Object.keys(ATTRIBUTES).join(", ")
          }`,
        );
      }
      const allowed = ATTRIBUTES[attr as keyof typeof ATTRIBUTES] as readonly string[];
      if (!Array.isArray(values) || values.length === 0) {
        throw new RangeError(`${where} (${name}): "${attr}" must be a non-empty array of values`);
      }
      for (const v of values) {
        if (typeof v !== "string" || !allowed.includes(v)) {
          throw new RangeError(
            `${where} (${name}): unknown ${attr} ${JSON.stringify(v)}; known: ${
              allowed.join(", ")
            }`,
          );
        }
      }
      out[attr] = [...new Set(values as string[])];
    }
    return defineConcept(name, description ?? name, out as SceneConstraints);
  });
}
