/**
 * Readers for `deploy:check`: a Dockerfile's instructions, `.dockerignore` matching (Docker's
 * rules: last matching pattern wins, a pattern that matches a parent folder matches its files),
 * and the environment variable names a source tree reads.
 *
 * @module
 */
import { join, relative } from "node:path";

/** One Dockerfile instruction, continuation lines joined, comments dropped. */
export interface Instruction {
  /** Upper-case keyword (`FROM`, `RUN`, ...). */
  cmd: string;
  /** The rest of the line. */
  args: string;
  /** 1-based line where it starts. */
  line: number;
}

/**
 * Splits a Dockerfile into instructions.
 *
 * @param text The Dockerfile.
 * @returns Its instructions in order.
 */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let buf = "";
  let start = 0;
  text.split("\n").forEach((raw, i) => {
    const line = raw.trimEnd();
    if (buf === "" && /^\s*(#.*)?$/.test(line)) return;
    if (buf !== "" && /^\s*#/.test(line)) return;
    if (buf === "") start = i + 1;
    if (line.endsWith("\\")) {
      buf += line.slice(0, -1) + " ";
      return;
    }
    buf += line;
    const m = /^\s*([A-Za-z]+)\s+([\s\S]*)$/.exec(buf);
    if (m) out.push({ cmd: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start });
    buf = "";
  });
  return out;
}

/**
 * The `KEY=value` pairs of an `ENV` or `ARG` instruction (quotes removed; `ARG NAME` without a
 * default gives an empty value; the legacy `ENV KEY value` form is understood).
 *
 * @param args The instruction's arguments.
 * @returns Name → value.
 */
export function parseAssignments(args: string): Map<string, string> {
  const out = new Map<string, string>();
  if (/^[A-Za-z_][A-Za-z0-9_]*\s+[^=\s]/.test(args) && !args.includes("=")) {
    const [k, ...v] = args.split(/\s+/);
    out.set(k!, v.join(" "));
    return out;
  }
  for (const m of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)(?:=("[^"]*"|'[^']*'|\S*))?/g)) {
    out.set(m[1]!, (m[2] ?? "").replace(/^["']|["']$/g, ""));
  }
  return out;
}

/** A compiled `.dockerignore`. */
export interface IgnoreRule {
  re: RegExp;
  negate: boolean;
}

function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*" && glob[i + 1] === "*") {
      re += glob[i + 2] === "/" ? "(?:.*/)?" : ".*";
      i += glob[i + 2] === "/" ? 2 : 1;
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/**
 * Compiles a `.dockerignore`.
 *
 * @param text Its contents.
 * @returns The rules in order.
 */
export function parseDockerignore(text: string): IgnoreRule[] {
  return text.split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => {
      const negate = l.startsWith("!");
      const p = (negate ? l.slice(1) : l).trim().replace(/^\/+|\/+$/g, "").replace(/^\.\//, "");
      return { re: globToRegExp(p), negate };
    });
}

/**
 * Whether Docker leaves a path out of the build context.
 *
 * @param rules From {@linkcode parseDockerignore}.
 * @param path Relative to the context root, with `/` separators.
 * @returns True when excluded.
 */
export function isIgnored(rules: IgnoreRule[], path: string): boolean {
  const parts = path.split("/");
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
  let ignored = false;
  for (const r of rules) {
    if (prefixes.some((p) => r.re.test(p))) ignored = !r.negate;
  }
  return ignored;
}

/**
 * Every `.ts` file under `dir`, as paths relative to `root`, tests and `node_modules` skipped.
 *
 * @param root The repository root.
 * @param dir A folder inside it.
 * @returns Relative paths with `/` separators.
 */
export async function tsFiles(root: string, dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for await (const e of Deno.readDir(d)) {
      const p = join(d, e.name);
      if (e.isDirectory && e.name !== "node_modules") await walk(p);
      else if (e.isFile && e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) {
        out.push(relative(root, p).split("\\").join("/"));
      }
    }
  };
  await walk(join(root, dir));
  return out.sort();
}

const ENV_READS = [
  /Deno\.env\.get\(\s*["']([A-Z][A-Z0-9_]*)["']/g,
  /\benv\(\s*["']([A-Z][A-Z0-9_]*)["']\s*\)/g,
  /\benv\.([A-Z][A-Z0-9_]*)\b/g,
  /\benv\[\s*["']([A-Z][A-Z0-9_]*)["']\s*\]/g,
];

/**
 * The environment variable names a source text reads: `Deno.env.get("X")`, `env("X")`,
 * `env.X`, `env["X"]` (upper-case names only, as environment variables are spelled).
 *
 * @param source TypeScript source.
 * @returns The names.
 */
export function envReads(source: string): Set<string> {
  const out = new Set<string>();
  for (const re of ENV_READS) for (const m of source.matchAll(re)) out.add(m[1]!);
  return out;
}

/**
 * Files a module locates relative to itself (`new URL("../x", import.meta.url)`).
 *
 * @param file Its path relative to the root.
 * @param source Its text.
 * @returns The targets, relative to the root (the root itself and paths outside it left out).
 */
export function selfRelativePaths(file: string, source: string): string[] {
  const out: string[] = [];
  for (
    const m of source.matchAll(/new URL\(\s*["'](\.{1,2}\/[^"']+)["']\s*,\s*import\.meta\.url/g)
  ) {
    const path = decodeURIComponent(new URL(m[1]!, `file:///r/${file}`).pathname);
    const rel = path.startsWith("/r/") ? path.slice(3).replace(/\/+$/, "") : "";
    if (rel !== "") out.push(rel);
  }
  return out;
}
