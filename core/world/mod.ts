/**
 * The procedural shape world: scenes (kind, colour, size, count, position, background),
 * crisp 32×32 renders, captions from a 31-word vocabulary, an analyser that reads the
 * attributes back from an image, named concepts for the demo and eval, and the eval's metrics.
 *
 * @example
 * ```ts
 * import { analyse, caption, CONCEPTS, render, sampleScene } from "./mod.ts";
 * import { Rng } from "../random.ts";
 * const scene = sampleScene(new Rng(5), CONCEPTS["warm-shapes-dark"].constraints);
 * const img = render(scene, 5);
 * console.assert(analyse(img).scene !== null && caption(scene).endsWith("background"));
 * ```
 *
 * @module
 */
export * from "./scene.ts";
export * from "./render.ts";
export * from "./caption.ts";
export * from "./analyse.ts";
export * from "./concepts.ts";
export * from "./metrics.ts";
