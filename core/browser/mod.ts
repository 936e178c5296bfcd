/**
 * The in-browser front end: {@linkcode BrowserSampler} runs core's sampling in a web page on
 * onnxruntime-web. This module is the entry of the page's bundle,
 * functions/playground/sampler.js (`deno task playground:bundle`; a test keeps it current).
 *
 * @example
 * ```ts ignore
 * import { BrowserSampler } from "/playground/sampler.js";
 * const s = await BrowserSampler.load("dd-world-tiny", { ort, fetch: api });
 * ```
 *
 * @module
 */
export * from "./sampler.ts";
export type { RgbImage } from "../images/browser.ts";
