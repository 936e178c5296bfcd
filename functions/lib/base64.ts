/**
 * Strict base64 for JSON bodies (optionally a `data:` URL) and for PNGs in responses.
 *
 * @example
 * ```ts
 * import { fromBase64, toBase64 } from "./base64.ts";
 * console.assert(toBase64(fromBase64("aGk=")!) === "aGk=");
 * ```
 *
 * @module
 */

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decodes base64 (whitespace ignored; a `data:...;base64,` prefix allowed).
 *
 * @returns The bytes, or null when the text is not base64.
 */
export function fromBase64(text: string): Uint8Array | null {
  const s = text.replace(/^data:[\w/+.-]*;base64,/, "").replace(/\s+/g, "");
  if (s.length % 4 !== 0 || !B64.test(s)) return null;
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Encodes bytes as base64. */
export function toBase64(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}
