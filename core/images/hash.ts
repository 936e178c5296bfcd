/**
 * Content hashes of reference images (recorded in distribution manifests).
 *
 * @module
 */

/**
 * SHA-256 of `bytes` as 64 lowercase hex digits (Web Crypto).
 *
 * @example
 * ```ts
 * import { sha256Hex } from "./hash.ts";
 * const h = await sha256Hex(new TextEncoder().encode("abc"));
 * console.assert(h.startsWith("ba7816bf"));
 * ```
 */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new Uint8Array(bytes));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
