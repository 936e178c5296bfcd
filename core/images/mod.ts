/**
 * Images in and out: decoding PNG/JPEG/WebP with header limits checked first, PNG encoding,
 * antialiased resizing, the model's preprocessing (shorter side, square crop, flip, [-1, 1]
 * CHW tensors) and its inverse, demo grids (with text labels), line charts and content hashes.
 *
 * @example
 * ```ts
 * import { decodeImage, encodePng, preprocessImage } from "./mod.ts";
 * const png = encodePng({ width: 4, height: 2, data: new Uint8Array(24).fill(255) });
 * const img = await decodeImage(png);
 * const x = preprocessImage(img, 2); // [3, 2, 2], all 1
 * console.assert(x.length === 12);
 * ```
 *
 * @module
 */
export * from "./types.ts";
export * from "./image_error.ts";
export * from "./probe.ts";
export * from "./decode.ts";
export * from "./encode.ts";
export * from "./resize.ts";
export * from "./crop.ts";
export * from "./preprocess.ts";
export * from "./tensor.ts";
export * from "./grid.ts";
export * from "./hash.ts";
export * from "./chart.ts";
