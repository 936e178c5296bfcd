/**
 * Identifying image bytes and reading their size from the header alone, so that limits are
 * enforced before any pixel memory is allocated. Parsers here read a few dozen bytes each:
 * PNG IHDR, JPEG SOFn (plus the EXIF orientation when it comes first), WebP VP8/VP8L/VP8X.
 *
 * @module
 */
import { ImageError } from "./image_error.ts";
import type { ImageFormat } from "./types.ts";

/** What the header says about an image. */
export interface ImageInfo {
  format: ImageFormat;
  /** Stored width, before any EXIF rotation. */
  width: number;
  /** Stored height, before any EXIF rotation. */
  height: number;
  /** EXIF orientation 1..8 (JPEG only; 1 when absent or unreadable). */
  orientation: number;
}

/** Limits checked against the header before decoding. */
export interface ImageLimits {
  /** Largest width * height accepted. */
  maxPixels: number;
  /** Largest stored width accepted. */
  maxWidth: number;
  /** Largest stored height accepted. */
  maxHeight: number;
}

/** 36 megapixels (a full-frame camera), and no side over 16384. */
export const DEFAULT_IMAGE_LIMITS: Readonly<ImageLimits> = Object.freeze({
  maxPixels: 36_000_000,
  maxWidth: 16_384,
  maxHeight: 16_384,
});

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Formats recognised only to name them in the refusal. */
const KNOWN_UNSUPPORTED: [string, (b: Uint8Array) => boolean][] = [
  ["GIF", (b) => ascii(b, 0, 4) === "GIF8"],
  ["BMP", (b) => ascii(b, 0, 2) === "BM"],
  ["TIFF", (b) => ascii(b, 0, 4) === "II*\0" || ascii(b, 0, 4) === "MM\0*"],
  ["AVIF/HEIC", (b) => ascii(b, 4, 8) === "ftyp"],
];

/**
 * Identifies the format from the leading (magic) bytes; file names are never consulted.
 * @returns the format, or null for anything else.
 *
 * @example
 * ```ts
 * import { sniffFormat } from "./probe.ts";
 * console.assert(sniffFormat(new Uint8Array([0xff, 0xd8, 0xff, 0xe0])) === "jpeg");
 * ```
 */
export function sniffFormat(bytes: Uint8Array): ImageFormat | null {
  if (bytes.length >= 8 && PNG_SIGNATURE.every((v, i) => bytes[i] === v)) return "png";
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    return "jpeg";
  }
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === "RIFF" && ascii(bytes, 8, 12) === "WEBP") {
    return "webp";
  }
  return null;
}

/**
 * Reads format, size and orientation from the header and checks them against `limits`.
 * Never allocates pixel memory, so a header claiming 50000x50000 is refused at once.
 *
 * @param bytes The whole file (or at least its header).
 * @param limits Overrides for {@linkcode DEFAULT_IMAGE_LIMITS}.
 * @throws ImageError `unsupported_format` (not PNG/JPEG/WebP), `invalid_image` (truncated
 *   or corrupt header), `image_too_large` (over a limit).
 *
 * @example
 * ```ts
 * import { probeImage } from "./probe.ts";
 * import { encodePng } from "./encode.ts";
 * const png = encodePng({ width: 4, height: 2, data: new Uint8Array(24) });
 * const info = probeImage(png);
 * console.assert(info.format === "png" && info.width === 4 && info.height === 2);
 * ```
 */
export function probeImage(bytes: Uint8Array, limits: Partial<ImageLimits> = {}): ImageInfo {
  const format = sniffFormat(bytes);
  if (format === null) {
    const named = KNOWN_UNSUPPORTED.find(([, test]) => bytes.length >= 12 && test(bytes));
    throw new ImageError(
      "unsupported_format",
      named
        ? `${named[0]} images are not supported (PNG, JPEG and WebP are)`
        : "not a PNG, JPEG or WebP image (unrecognised leading bytes)",
    );
  }
  const head = format === "png"
    ? readPngHeader(bytes)
    : format === "jpeg"
    ? readJpegHeader(bytes)
    : readWebpHeader(bytes);
  const info: ImageInfo = { format, orientation: 1, ...head };
  checkLimits(info, { ...DEFAULT_IMAGE_LIMITS, ...limits });
  return info;
}

function checkLimits(info: ImageInfo, limits: ImageLimits): void {
  const { width, height, format } = info;
  if (width < 1 || height < 1) {
    throw new ImageError(
      "invalid_image",
      `${format}: header gives an empty size ${width}x${height}`,
    );
  }
  if (width > limits.maxWidth || height > limits.maxHeight || width * height > limits.maxPixels) {
    throw new ImageError(
      "image_too_large",
      `${format}: ${width}x${height} exceeds the limit (at most ${limits.maxPixels} pixels, ` +
        `${limits.maxWidth} wide, ${limits.maxHeight} high)`,
    );
  }
}

type Head = { width: number; height: number; orientation?: number };

function truncated(format: string, where: string): ImageError {
  return new ImageError("invalid_image", `${format}: truncated or corrupt ${where}`);
}

/** IHDR must be the first chunk: length 13, then width and height as big-endian u32. */
function readPngHeader(b: Uint8Array): Head {
  if (b.length < 33) throw truncated("png", "header (no complete IHDR chunk)");
  const v = view(b);
  if (v.getUint32(8) !== 13 || ascii(b, 12, 16) !== "IHDR") {
    throw new ImageError("invalid_image", "png: first chunk is not a valid IHDR");
  }
  return { width: v.getUint32(16), height: v.getUint32(20) };
}

/** Start-of-frame markers (all codings); C4 (DHT), C8 (JPG), CC (DAC) are not frames. */
const SOF = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

/** Walks the marker segments up to the first SOFn, noting an EXIF orientation on the way. */
function readJpegHeader(b: Uint8Array): Head {
  const v = view(b);
  let orientation = 1;
  let pos = 2;
  while (pos < b.length) {
    if (b[pos] !== 0xff) throw new ImageError("invalid_image", "jpeg: expected a marker");
    while (pos < b.length && b[pos] === 0xff) pos++; // fill bytes
    const marker = b[pos++];
    if (marker === undefined) break;
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue; // no length
    if (marker === 0xd9 || marker === 0xda) {
      throw new ImageError("invalid_image", "jpeg: no frame header (SOFn) before image data");
    }
    if (pos + 2 > b.length) break;
    const length = v.getUint16(pos);
    if (length < 2 || pos + length > b.length) break;
    if (SOF.has(marker)) {
      if (length < 8) break;
      return { height: v.getUint16(pos + 3), width: v.getUint16(pos + 5), orientation };
    }
    if (marker === 0xe1) orientation = exifOrientation(b.subarray(pos + 2, pos + length)) ?? 1;
    pos += length;
  }
  throw truncated("jpeg", "header (no complete SOFn segment)");
}

/**
 * Orientation (tag 0x0112) from an APP1 payload `Exif\0\0` + TIFF; null when absent or
 * malformed (a broken EXIF block never fails the image).
 */
function exifOrientation(app1: Uint8Array): number | null {
  if (app1.length < 14 || ascii(app1, 0, 6) !== "Exif\0\0") return null;
  const tiff = app1.subarray(6);
  const order = ascii(tiff, 0, 2);
  if (order !== "II" && order !== "MM") return null;
  const le = order === "II";
  const v = view(tiff);
  const ifd = v.getUint32(4, le);
  if (ifd + 2 > tiff.length) return null;
  const count = v.getUint16(ifd, le);
  for (let i = 0; i < count; i++) {
    const e = ifd + 2 + 12 * i;
    if (e + 12 > tiff.length) return null;
    if (v.getUint16(e, le) === 0x0112 && v.getUint16(e + 2, le) === 3) {
      const o = v.getUint16(e + 8, le);
      return o >= 1 && o <= 8 ? o : null;
    }
  }
  return null;
}

/** RIFF container; the first chunk is VP8 (lossy), VP8L (lossless) or VP8X (extended). */
function readWebpHeader(b: Uint8Array): Head {
  if (b.length < 30) throw truncated("webp", "header");
  const v = view(b);
  const chunk = ascii(b, 12, 16);
  if (chunk === "VP8 ") {
    if (b[23] !== 0x9d || b[24] !== 0x01 || b[25] !== 0x2a) throw truncated("webp", "VP8 header");
    return { width: v.getUint16(26, true) & 0x3fff, height: v.getUint16(28, true) & 0x3fff };
  }
  if (chunk === "VP8L") {
    if (b[20] !== 0x2f) throw truncated("webp", "VP8L header");
    const bits = v.getUint32(21, true);
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (chunk === "VP8X") {
    const u24 = (at: number) => (b[at] ?? 0) | ((b[at + 1] ?? 0) << 8) | ((b[at + 2] ?? 0) << 16);
    return { width: u24(24) + 1, height: u24(27) + 1 };
  }
  throw new ImageError("invalid_image", `webp: unknown first chunk "${chunk}"`);
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function ascii(b: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...b.subarray(start, end));
}
