/**
 * `deno task playground:bundle [--out FILE]`
 *
 * Bundles core/browser (the in-browser sampler) for the playground page with `deno bundle`
 * (esbuild, browser platform, minified) into functions/playground/sampler.js, the file the
 * server serves and the repository commits (tests/core/browser/bundle_test.ts checks it is
 * current). `--out` is relative to the caller's directory, as every task's paths.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { callerCwd, defineTask, runMain, type TaskMain } from "./_cli.ts";

/** The repository root. */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The bundle's entry and the committed output, relative to the repository root. */
export const PLAYGROUND_BUNDLE = {
  entry: "core/browser/mod.ts",
  out: "functions/playground/sampler.js",
} as const;

/**
 * `deno bundle`'s arguments for the playground bundle.
 * @param out The output file (default the committed one).
 * @returns The arguments after the deno executable.
 * @example
 * ```ts
 * import { bundleArgs } from "./playground_bundle.ts";
 * console.assert(bundleArgs("/tmp/x.js").includes("--minify"));
 * ```
 */
export function bundleArgs(out: string = PLAYGROUND_BUNDLE.out): string[] {
  return [
    "bundle",
    "--quiet",
    "--platform",
    "browser",
    "--minify",
    "-o",
    out,
    PLAYGROUND_BUNDLE.entry,
  ];
}

/** Runs the task on `args`; returns the exit code. */
export const main: TaskMain = defineTask({
  usage: "usage: deno task playground:bundle [--out FILE]",
  about: "Bundles core/browser for the playground page into functions/playground/sampler.js\n" +
    "(or FILE), with deno bundle (browser platform, minified).",
  options: {
    out: { type: "string", arg: "FILE", help: "output file (default the committed bundle)" },
  },
  run: async ({ values, io }) => {
    const out = typeof values.out === "string"
      ? resolve(callerCwd(), values.out)
      : join(ROOT, PLAYGROUND_BUNDLE.out);
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: bundleArgs(out),
      cwd: ROOT,
      stdout: "null",
      stderr: "piped",
    }).output();
    if (code !== 0) {
      io.err(new TextDecoder().decode(stderr));
      return 1;
    }
    io.out(out);
    return 0;
  },
});

if (import.meta.main) await runMain(main);
