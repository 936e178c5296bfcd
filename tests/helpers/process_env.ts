/**
 * Process environment changes for tests that must set real environment variables (code that
 * reads `Deno.env` itself). `deno test --parallel` runs test files in workers of one process,
 * so the environment is shared between files: each change holds an exclusive lock on a file
 * (one per checkout) for its whole run, so that no two files change it at the same time.
 */
import { tmpdir } from "node:os";
import { join } from "node:path";

const checkout = new URL("../../", import.meta.url).pathname;
const tag = Array.from(checkout).reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7);
const LOCK = join(tmpdir(), `dd-tests-env-${tag.toString(16)}.lock`);

/**
 * Runs `fn` with `set` variables set and `unset` ones removed, then restores each as it was;
 * at most one such run at a time across the test workers of this checkout.
 */
export async function withProcessEnv<T>(
  set: Record<string, string>,
  fn: () => Promise<T>,
  unset: string[] = [],
): Promise<T> {
  const lock = await Deno.open(LOCK, { create: true, write: true });
  try {
    await lock.lock(true);
    const keys = [...Object.keys(set), ...unset];
    const saved = keys.map((k) => [k, Deno.env.get(k)] as const);
    try {
      for (const k of unset) Deno.env.delete(k);
      for (const [k, v] of Object.entries(set)) Deno.env.set(k, v);
      return await fn();
    } finally {
      for (const [k, v] of saved) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
    }
  } finally {
    lock.close();
  }
}
