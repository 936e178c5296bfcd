/**
 * Decoding PNG, JPEG and WebP bytes into {@linkcode RgbImage}s.
 *
 * - The format comes from the leading bytes, never from a file name or content type.
 * - Size limits are checked from the header before any pixel memory is allocated.
 * - PNG: any bit depth (1..16), grey, RGB, palette, alpha and tRNS (fast-png); 16-bit samples
 *   are rounded to 8 bits. JPEG: baseline and progressive, grey, RGB/YCbCr, CMYK/YCCK with an
 *   Adobe marker (jpeg-js); the EXIF orientation is applied. WebP: lossy and lossless
 *   (libwebp compiled to wasm, @jsquash/webp); of an animation, the first frame alone, at its
 *   own size (canvas offset, blending and later frames ignored).
 * - Alpha is composited over `background` (white by default), not dropped: a transparent
 *   sticker on white is what a person sees in a viewer.
 * - Colour profiles (ICC, gAMA) are ignored: samples are taken as sRGB.
 *
 * @module
 */
import jpeg from "jpeg-js";
import webpDecode from "@jsquash/webp/decode.js";
import { ImageError } from "./image_error.ts";
import { type ImageFormat, type RgbImage } from "./types.ts";
import { type ImageLimits, probeImage } from "./probe.ts";
import { decodePngRgb } from "./_png.ts";
import { applyOrientation } from "./_orientation.ts";
import { firstWebpFrame } from "./_webp.ts";

/** Options of {@linkcode decodeImage}. */
export interface DecodeOptions {
  /** Overrides for the header limits (see `DEFAULT_IMAGE_LIMITS`). */
  limits?: Partial<ImageLimits>;
  /** Colour that transparent pixels are composited over; default white `[255, 255, 255]`. */
  background?: readonly [number, number, number];
  /** Apply the JPEG EXIF orientation (default true). */
  applyExifOrientation?: boolean;
}

/** An image decoded with the format it was found to be. */
export interface DecodedImage extends RgbImage {
  format: ImageFormat;
}

const WHITE = [255, 255, 255] as const;

/**
 * Decodes image bytes (PNG, JPEG or WebP, identified by their magic bytes) to 8-bit RGB.
 *
 * @param bytes The whole file.
 * @param options Limits, alpha background, orientation handling.
 * @returns The upright RGB image and its format.
 * @throws ImageError `unsupported_format` for anything else (GIF, BMP, random bytes),
 *   `image_too_large` when the header is over a limit (nothing is decoded then),
 *   `invalid_image` for truncated or corrupt data.
 *
 * @example
 * ```ts
 * import { decodeImage } from "./decode.ts";
 * import { encodePng } from "./encode.ts";
 * const png = encodePng({ width: 2, height: 1, data: new Uint8Array([255, 0, 0, 0, 0, 255]) });
 * const img = await decodeImage(png);
 * console.assert(img.format === "png" && img.width === 2 && img.data[5] === 255);
 * ```
 */
export async function decodeImage(
  bytes: Uint8Array,
  options: DecodeOptions = {},
): Promise<DecodedImage> {
  const info = probeImage(bytes, options.limits);
  const background = options.background ?? WHITE;
  let img: RgbImage;
  if (info.format === "png") {
    img = decodePngRgb(bytes, background);
  } else if (info.format === "jpeg") {
    img = decodeJpeg(bytes, info.width * info.height);
    if (options.applyExifOrientation ?? true) img = applyOrientation(img, info.orientation);
  } else {
    img = composite(await decodeWebp(bytes), background);
  }
  if (img.width * img.height * 3 !== img.data.length) {
    throw new ImageError("invalid_image", `${info.format}: decoder returned a malformed image`);
  }
  return { format: info.format, width: img.width, height: img.height, data: img.data };
}

function decodeJpeg(bytes: Uint8Array, pixels: number): RgbImage {
  try {
    const out = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      maxResolutionInMP: Math.max(1, pixels / 1e6 + 1),
      // jpeg-js keeps int32 coefficients per component plus lines and output (~18 B/pixel
      // for 4:4:4 RGB); the header limit already bounds `pixels`
      maxMemoryUsageInMB: 64 + Math.ceil((pixels * 32) / 2 ** 20),
    });
    return { width: out.width, height: out.height, data: out.data };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw new ImageError("invalid_image", `jpeg: ${message}`, { cause: e });
  }
}

interface Rgba {
  width: number;
  height: number;
  data: ArrayLike<number>;
}

async function decodeWebp(bytes: Uint8Array): Promise<Rgba> {
  // the wasm decoder wants a plain ArrayBuffer, and a still image (animations: frame one)
  const copy = firstWebpFrame(bytes).slice().buffer;
  try {
    return await webpDecode(copy);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw new ImageError("invalid_image", `webp: ${message}`, { cause: e });
  }
}

/** RGBA to RGB over `background`. */
function composite(img: Rgba, background: readonly number[]): RgbImage {
  const n = img.width * img.height;
  if (img.data.length !== n * 4) {
    throw new ImageError("invalid_image", "webp: decoder returned a malformed image");
  }
  const out = new Uint8Array(n * 3);
  const src = img.data;
  for (let i = 0; i < n; i++) {
    const a = (src[i * 4 + 3] ?? 255) / 255;
    for (let c = 0; c < 3; c++) {
      out[i * 3 + c] = Math.round((src[i * 4 + c] ?? 0) * a + (background[c] ?? 255) * (1 - a));
    }
  }
  return { width: img.width, height: img.height, data: out };
}
