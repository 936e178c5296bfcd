/**
 * Start-up recovery after a crash. A process killed in the middle of a folder-store write
 * leaves its temp file (`.~<random>`, core/store/fs_store.ts) beside the key it was writing;
 * {@linkcode sweepTempFiles} removes those older than a lease (a write in flight in another
 * instance sharing the folder is younger). Nothing else needs sweeping: stores publish a key
 * only by rename or single PUT, a distribution's manifest is written last, and a job or
 * Idempotency-Key record left by the dead process expires with its lease
 * (functions/lib/job_record.ts, functions/lib/idempotency.ts).
 *
 * @example
 * ```ts
 * import { FsStore } from "../../core/engine/mod.ts";
 * import { sweepTempFiles } from "./recovery.ts";
 * const dir = await Deno.makeTempDir();
 * console.assert((await sweepTempFiles(new FsStore(dir), 0)).length === 0);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { FsStore, type Store } from "../../core/engine/mod.ts";

/**
 * Removes a folder store's stray temp files (a no-op for other stores).
 *
 * @param store The store.
 * @param olderThanMs Only files last modified longer ago than this.
 * @returns The paths removed.
 */
export async function sweepTempFiles(store: Store, olderThanMs: number): Promise<string[]> {
  if (!(store instanceof FsStore)) return [];
  const removed: string[] = [];
  const cutoff = Date.now() - olderThanMs;
  const walk = async (dir: string): Promise<void> => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(dir));
    } catch {
      return; // no store yet, or a folder removed meanwhile
    }
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory) await walk(path);
      else if (e.isFile && e.name.startsWith(".~")) {
        const mtime = (await Deno.stat(path).catch(() => null))?.mtime?.getTime() ?? Infinity;
        if (mtime <= cutoff && await Deno.remove(path).then(() => true, () => false)) {
          removed.push(path);
        }
      }
    }
  };
  await walk(store.root);
  return removed;
}
