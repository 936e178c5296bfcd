/**
 * The one error type thrown for bad image bytes.
 *
 * @module
 */
import { CodedError } from "../errors.ts";

/**
 * Why image bytes were refused:
 * - `invalid_image`: a known format, but truncated or corrupt;
 * - `unsupported_format`: not an image, or a format this module does not decode;
 * - `image_too_large`: the header announces more pixels (or a larger side) than allowed.
 */
export type ImageErrorCode = "invalid_image" | "unsupported_format" | "image_too_large";

/**
 * Thrown by {@linkcode decodeImage} and {@linkcode probeImage} for bytes that cannot be used.
 * Programming errors (bad sizes passed to resize, crop, ...) are `RangeError`s instead.
 *
 * @example
 * ```ts
 * import { ImageError } from "./image_error.ts";
 * const e = new ImageError("unsupported_format", "not an image");
 * console.assert(e.code === "unsupported_format" && e instanceof Error);
 * ```
 */
export class ImageError extends CodedError<ImageErrorCode> {}
