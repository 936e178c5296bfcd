/**
 * The autodiff as it was before issue 16 (lean backward graphs), or at any other commit, for
 * benchmarks that compare the emitted graphs in one run: core/autodiff at commit
 * {@link BASELINE_COMMIT} (or the one given), read with `git show` into a temporary folder,
 * its imports of core/onnx pointed at this checkout, and imported from there. Needs a git
 * checkout of the repository.
 *
 * @module
 */
import type { differentiate } from "../../core/autodiff/driver.ts";

/** The last commit before the lean backward graphs. */
export const BASELINE_COMMIT = "66a52ee";

async function git(root: string, args: string[]): Promise<string> {
  const out = await new Deno.Command("git", { args, cwd: root, stdout: "piped" }).output();
  if (!out.success) throw new Error(`git ${args.join(" ")} failed`);
  return new TextDecoder().decode(out.stdout);
}

/** The `differentiate` of core/autodiff at `commit` (default: the baseline). */
export async function baselineDifferentiate(
  commit: string = BASELINE_COMMIT,
): Promise<typeof differentiate> {
  const root = new URL("../../", import.meta.url).pathname;
  const onnx = new URL("../../core/onnx/", import.meta.url).href;
  const dir = await Deno.makeTempDir({ prefix: "autodiff-baseline-" });
  const files = (await git(root, ["ls-tree", "-r", "--name-only", commit, "core/autodiff"]))
    .trim().split("\n").filter((f) => f.endsWith(".ts"));
  for (const f of files) {
    const text = (await git(root, ["show", `${commit}:${f}`]))
      .replaceAll(/"(\.\.\/)+onnx\//g, `"${onnx}`);
    const to = `${dir}/${f.slice("core/autodiff/".length)}`;
    await Deno.mkdir(to.slice(0, to.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(to, text);
  }
  const mod = await import(`file://${dir}/driver.ts`);
  await Deno.remove(dir, { recursive: true });
  return mod.differentiate;
}
