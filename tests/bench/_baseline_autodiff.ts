/**
 * The autodiff as it was before issue 16 (lean backward graphs), for benchmarks that
 * compare the emitted graphs in one run: core/autodiff at commit {@link BASELINE_COMMIT},
 * read with `git show` into a temporary folder, its imports of core/onnx pointed at this
 * checkout, and imported from there. Needs a git checkout of the repository.
 *
 * @module
 */
import type { differentiate } from "../../core/autodiff/driver.ts";

/** The last commit before the lean backward graphs. */
export const BASELINE_COMMIT = "66a52ee";

const FILES = [
  "driver.ts",
  "types.ts",
  "rules/mod.ts",
  "rules/elementwise.ts",
  "rules/linalg.ts",
  "rules/reduce.ts",
  "rules/norm.ts",
  "rules/conv.ts",
  "rules/resize.ts",
  "rules/indexing.ts",
  "rules/shape.ts",
];

/** The baseline `differentiate`. */
export async function baselineDifferentiate(): Promise<typeof differentiate> {
  const root = new URL("../../", import.meta.url).pathname;
  const onnx = new URL("../../core/onnx/", import.meta.url).href;
  const dir = await Deno.makeTempDir({ prefix: "autodiff-baseline-" });
  await Deno.mkdir(`${dir}/rules`);
  for (const f of FILES) {
    const out = await new Deno.Command("git", {
      args: ["show", `${BASELINE_COMMIT}:core/autodiff/${f}`],
      cwd: root,
      stdout: "piped",
    }).output();
    if (!out.success) throw new Error(`git show ${BASELINE_COMMIT}:core/autodiff/${f} failed`);
    const text = new TextDecoder().decode(out.stdout)
      .replaceAll(/"(\.\.\/)+onnx\//g, `"${onnx}`);
    await Deno.writeTextFile(`${dir}/${f}`, text);
  }
  const mod = await import(`file://${dir}/driver.ts`);
  await Deno.remove(dir, { recursive: true });
  return mod.differentiate;
}
