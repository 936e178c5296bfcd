/**
 * The browser-safe part of core/images: the image type and tensor conversion (no codecs).
 * @module
 */
export type * from "./types.ts";
export * from "./tensor.ts";
