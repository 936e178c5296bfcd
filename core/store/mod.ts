/**
 * Storage for artifacts and jobs: one {@linkcode Store} interface (atomic puts, sorted
 * listings, validated keys), local-filesystem and S3 implementations and {@linkcode openStore}, which
 * picks one by URL. No HTTP in here.
 *
 * @example
 * ```ts
 * import { openStore } from "./mod.ts";
 * const dir = await Deno.makeTempDir();
 * const store = await openStore(dir);
 * await store.put("a/b.txt", new TextEncoder().encode("hi"));
 * console.assert(await store.exists("a/b.txt"));
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */
export * from "./store.ts";
export * from "./fs_store.ts";
export * from "./open.ts";
export * from "./s3_store.ts";
