/**
 * Shared helpers of the task tests: running a task in-process (`main(args, io)`) or, for the
 * real exit-code path, as a subprocess; reference images on disk.
 */
import { join } from "node:path";
import { encodePng } from "../../../core/images/encode.ts";
import type { TaskMain } from "../../../core/tasks/_cli.ts";
import { withProcessEnv } from "../../helpers/process_env.ts";
import { discImages } from "../../helpers/tiny_model.ts";

const TASKS = new URL("../../../core/tasks/", import.meta.url).pathname;

/** What a task run printed and returned. */
export interface TaskResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs core/tasks/`file`'s `main(args)` in this process, with its output captured: `stdout`
 * holds the result lines, `stderr` the log lines and progress text in the order written.
 * `env` is set in the process environment for the run (and given as the task's io.env), then
 * restored; one such run at a time across `--parallel` test workers (helpers/process_env.ts).
 */
export async function runTaskFile(
  file: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<TaskResult> {
  const { main } = await import(join(TASKS, file)) as { main: TaskMain };
  let stdout = "", stderr = "";
  return await withProcessEnv(env, async () => {
    const code = await main(args, {
      out: (line) => (stdout += `${line}\n`),
      err: (line) => (stderr += `${line}\n`),
      progress: (text) => (stderr += text),
      tty: false,
      env: Deno.env.toObject(),
    });
    return { code, stdout, stderr };
  });
}

/**
 * Runs core/tasks/`file` with `args` in a fresh Deno process (`-q`: without Deno's own
 * diagnostics, such as npm bin set-up warnings; no colours), for the real exit-code path.
 */
export async function spawnTaskFile(
  file: string,
  args: string[],
  env: Record<string, string> = {},
  cwd?: string,
): Promise<TaskResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-q", "-A", join(TASKS, file), ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
    ...(cwd ? { cwd } : {}),
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Writes `n` procedural disc PNGs (ref0.png, ...) into a new folder under `parent`. */
export async function writeDiscPngs(parent: string, n: number, name = "images"): Promise<string> {
  const dir = join(parent, name);
  await Deno.mkdir(dir, { recursive: true });
  for (const [i, img] of discImages(n).entries()) {
    await Deno.writeFile(join(dir, `ref${i}.png`), encodePng(img));
  }
  return dir;
}

/** Every file under `dir` (relative paths, sorted); [] when it does not exist. */
export function listTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of Deno.readDirSync(join(dir, rel))) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) walk(p);
      else out.push(p);
    }
  };
  try {
    walk("");
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out.sort();
}

/** The tiny training flags of the task tests. */
export const TINY = ["--k", "3", "--m", "2", "--s", "2", "--batch-size", "2", "--steps", "3"];

/**
 * Trains a tiny distribution with `deno task train` into a new store under `parent`.
 * @returns the store directory, the distribution id and the train-graph cache directory.
 */
export async function trainTiny(
  parent: string,
  extra: string[] = [],
): Promise<{ store: string; id: string; cache: string }> {
  const images = await writeDiscPngs(parent, 4);
  const store = join(parent, "store"), cache = join(parent, "cache");
  const r = await runTaskFile(
    "train.ts",
    ["--images", images, "--out", store, "--seed", "1", ...TINY, ...extra],
    { DD_CACHE_DIR: cache },
  );
  const id = /^(dd_[a-z0-9]+)\n$/.exec(r.stdout)?.[1];
  if (r.code !== 0 || !id) throw new Error(`train failed (${r.code}): ${r.stderr}`);
  return { store, id, cache };
}
