/** Shared helpers of the deploy:check tests: mutated copies of deploy/ checked against the code. */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { checkDeploy } from "../../deploy/check.ts";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** A copy of deploy/ and .dockerignore in a temp folder, with `edits` applied. */
export async function mutated(edits: Record<string, [string | RegExp, string][]>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "deploy-check-" });
  const files = [
    "Dockerfile",
    "README.md",
    "knative/service.yaml",
    "cloudrun/service.yaml",
    "knative/trigger.yaml",
    ".dockerignore",
  ];
  for (const f of files) {
    const from = f === ".dockerignore" ? join(ROOT, f) : join(ROOT, "deploy", f);
    let text = await Deno.readTextFile(from);
    for (const [find, replace] of edits[f] ?? []) {
      const next = text.replace(find, replace);
      assert.notEqual(next, text, `edit of ${f} did not apply: ${find}`);
      text = next;
    }
    await Deno.mkdir(join(dir, f, ".."), { recursive: true });
    await Deno.writeTextFile(join(dir, f), text);
  }
  return dir;
}

/** Checks a mutated copy; every expected fragment must be in some problem. */
export async function expectProblems(
  edits: Record<string, [string | RegExp, string][]>,
  ...expected: string[]
): Promise<string[]> {
  return await expectProblemsWith({}, edits, ...expected);
}

/** {@linkcode expectProblems} with more options of checkDeploy (another models.lock). */
export async function expectProblemsWith(
  options: { lockPath?: string },
  edits: Record<string, [string | RegExp, string][]>,
  ...expected: string[]
): Promise<string[]> {
  const dir = await mutated(edits);
  try {
    const problems = await checkDeploy({
      deploy: dir,
      dockerignore: join(dir, ".dockerignore"),
      ...options,
    });
    for (const e of expected) {
      assert.ok(
        problems.some((p) => p.includes(e)),
        `no problem mentions "${e}":\n${problems.join("\n")}`,
      );
    }
    return problems;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

export const KN = "knative/service.yaml";
export const CR = "cloudrun/service.yaml";
