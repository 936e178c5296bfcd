/**
 * Captions of world scenes, from a 31-word vocabulary (`WORLD_WORDS`).
 *
 * Grammar: `<a|two> <size> <colour> <kind>[s] <position phrase> on a <background> background`,
 * e.g. "two small red circles at the top on a dark blue background" or "a large green square in
 * the center on a black background". Position phrases: "at the top", "at the bottom", "on the
 * left", "on the right", "in the center". Every scene has exactly one caption and `parseCaption`
 * inverts `caption`.
 *
 * @module
 */
import { ATTRIBUTES, type Position, type Scene } from "./scene.ts";

const POSITION_PHRASE: Readonly<Record<Position, string>> = {
  top: "at the top",
  bottom: "at the bottom",
  left: "on the left",
  right: "on the right",
  center: "in the center",
};

/**
 * The full caption of a scene.
 *
 * @example
 * ```ts
 * import { caption } from "./caption.ts";
 * const text = caption({
 *   kind: "circle", colour: "red", size: "small", count: "two", position: "top",
 *   background: "dark blue",
 * });
 * console.assert(text === "two small red circles at the top on a dark blue background");
 * ```
 */
export function caption(scene: Scene): string {
  const two = scene.count === "two";
  return `${two ? "two" : "a"} ${scene.size} ${scene.colour} ${scene.kind}${two ? "s" : ""} ` +
    `${POSITION_PHRASE[scene.position]} on a ${scene.background} background`;
}

/**
 * The short caption of a scene: its colour and kind only, always singular ("a red circle"),
 * as a user would name one object without describing the layout ("an" before "orange"). It is the eval's
 * "short caption" baseline and the prompt whose kind and colour the base model must render.
 *
 * @example
 * ```ts
 * import { shortCaption } from "./caption.ts";
 * const s = {
 *   kind: "circle", colour: "red", size: "large", count: "two", position: "left",
 *   background: "gray",
 * } as const;
 * console.assert(shortCaption(s) === "a red circle");
 * ```
 */
export function shortCaption(scene: Pick<Scene, "kind" | "colour">): string {
  return `${/^[aeiou]/.test(scene.colour) ? "an" : "a"} ${scene.colour} ${scene.kind}`;
}

/**
 * Every word that `caption` and `shortCaption` use, sorted, without duplicates.
 *
 * @example
 * ```ts
 * import { WORLD_WORDS } from "./caption.ts";
 * console.assert(WORLD_WORDS.includes("triangles") && WORLD_WORDS.includes("dark"));
 * ```
 */
export const WORLD_WORDS: readonly string[] = [
  ...new Set([
    "a",
    "an",
    "two",
    "on",
    "background",
    ...ATTRIBUTES.size,
    ...ATTRIBUTES.colour,
    ...ATTRIBUTES.kind,
    ...ATTRIBUTES.kind.map((k) => `${k}s`),
    ...Object.values(POSITION_PHRASE).flatMap((p) => p.split(" ")),
    ...ATTRIBUTES.background.flatMap((b) => b.split(" ")),
  ]),
].sort();

/**
 * Reads a full caption back into its scene; null when the text is not a caption of this world.
 *
 * @example
 * ```ts
 * import { parseCaption } from "./caption.ts";
 * const s = parseCaption("a large green square in the center on a black background");
 * console.assert(s?.kind === "square" && s.count === "one" && s.background === "black");
 * console.assert(parseCaption("a cat") === null);
 * ```
 */
export function parseCaption(text: string): Scene | null {
  const m = text.trim().match(
    /^(a|two) (\w+) (\w+) (\w+?)(s?) (at the top|at the bottom|on the left|on the right|in the center) on a (.+) background$/,
  );
  if (!m) return null;
  const [, countWord, size, colour, kind, plural, phrase, background] = m;
  const count = countWord === "two" ? "two" : "one";
  if ((count === "two") !== (plural === "s")) return null;
  const position = (Object.keys(POSITION_PHRASE) as Position[]).find((p) =>
    POSITION_PHRASE[p] === phrase
  );
  const scene = { kind, colour, size, count, position, background };
  const ok = (ATTRIBUTES.size as readonly string[]).includes(size!) &&
    (ATTRIBUTES.colour as readonly string[]).includes(colour!) &&
    (ATTRIBUTES.kind as readonly string[]).includes(kind!) &&
    (ATTRIBUTES.background as readonly string[]).includes(background!) && position !== undefined;
  return ok ? scene as Scene : null;
}
