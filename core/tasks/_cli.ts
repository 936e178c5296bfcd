/**
 * What every deno task shares: a declarative option table that drives both `parseArgs`
 * (node:util, strict) and `--help`, strict number parsing, and `runTask`, which turns any
 * error into one `error: ...` line on stderr and exit code 1.
 *
 * @module
 */
import { parseArgs } from "node:util";

/** One command-line option: its type, default (for --help) and description. */
export interface OptionSpec {
  type: "string" | "boolean";
  /** Shown in --help as `(default: ...)`; not applied by the parser. */
  default?: string;
  /** Placeholder after the flag in --help, e.g. `N` or `DIR`. */
  arg?: string;
  short?: string;
  help: string;
}

/** An option table, keyed by the long flag without `--`. */
export type OptionTable = Record<string, OptionSpec>;

/** Parsed values: strings for string options, booleans for flags. */
export type Values = Record<string, string | boolean | undefined>;

/** An error in how the task was called (shown as one line, exit code 1). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * Parses `args` against `table`; unknown options and missing values are UsageErrors.
 * @example
 * ```ts
 * import { parseOptions } from "./_cli.ts";
 * const { values } = parseOptions(["--n", "2"], { n: { type: "string", help: "count" } });
 * console.assert(values.n === "2");
 * ```
 */
export function parseOptions(
  args: string[],
  table: OptionTable,
  allowPositionals = false,
): { values: Values; positionals: string[] } {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {};
  for (const [name, spec] of Object.entries(table)) {
    options[name] = spec.short ? { type: spec.type, short: spec.short } : { type: spec.type };
  }
  try {
    const { values, positionals } = parseArgs({ args, options, allowPositionals, strict: true });
    return { values: values as Values, positionals };
  } catch (e) {
    const code = (e as { code?: string }).code;
    const msg = (e as Error).message;
    const flag = /'(-[^' ]+)/.exec(msg)?.[1];
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      throw new UsageError(`unknown option ${flag ?? msg} (see --help)`);
    }
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && /argument missing/.test(msg)) {
      throw new UsageError(`option ${flag ?? msg} needs a value`);
    }
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && /ambiguous/.test(msg)) {
      throw new UsageError(
        `option ${flag} needs a value; write ${flag}=-X for one starting with -`,
      );
    }
    if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
      throw new UsageError(`unexpected argument ${/'([^']*)'/.exec(msg)?.[1] ?? msg}`);
    }
    throw new UsageError(msg.split("\n")[0]!);
  }
}

/**
 * The --help text: usage line, description, then every option with its default.
 * @example
 * ```ts
 * import { helpText } from "./_cli.ts";
 * const h = helpText("usage: x", "Does x.", { n: { type: "string", arg: "N", default: "1", help: "count" } });
 * console.assert(h.includes("--n N") && h.includes("(default: 1)"));
 * ```
 */
export function helpText(usage: string, about: string, table: OptionTable): string {
  const rows = Object.entries(table).map(([name, s]) => {
    const flag = `${s.short ? `-${s.short}, ` : "    "}--${name}${s.arg ? ` ${s.arg}` : ""}`;
    const words = s.help.split(" ");
    // "(default: x)" stays on one line.
    if (s.default !== undefined) words.push(`(default: ${s.default})`);
    return [flag, words] as const;
  });
  const width = Math.max(...rows.map(([f]) => f.length)) + 2;
  const lines = rows.map(([f, h]) => `  ${f.padEnd(width)}${wrap(h, 98 - width, width + 2)}`);
  return `${usage}\n\n${about}\n\noptions:\n${lines.join("\n")}\n`;
}

/** Joins `words` into lines of `width` columns, indenting continuation lines by `indent`. */
function wrap(words: readonly string[], width: number, indent: number): string {
  const lines: string[] = [];
  let line = "";
  for (const word of words) {
    if (line && line.length + 1 + word.length > Math.max(width, 30)) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines.join(`\n${" ".repeat(indent)}`);
}

/** A string option's value, or undefined. */
export function str(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === "string" ? v : undefined;
}

/** A required string option. @throws UsageError when absent or empty. */
export function required(values: Values, name: string): string {
  const v = str(values, name);
  if (v === undefined || v === "") throw new UsageError(`--${name} is required (see --help)`);
  return v;
}

/** Limits of a numeric option. */
export interface NumberRule {
  integer?: boolean;
  min?: number;
  max?: number;
  /** The minimum itself is not allowed (for "> 0"). */
  exclusiveMin?: boolean;
}

/**
 * Parses a number strictly (no blanks, no trailing text, finite), checking `rule`.
 * @throws UsageError naming the option.
 * @example
 * ```ts
 * import { parseNumber } from "./_cli.ts";
 * console.assert(parseNumber("--n", "16", { integer: true, min: 1 }) === 16);
 * ```
 */
export function parseNumber(flag: string, text: string, rule: NumberRule = {}): number {
  const v = text.trim() === "" ? NaN : Number(text);
  const kind = rule.integer ? "an integer" : "a number";
  if (!Number.isFinite(v) || (rule.integer && !Number.isInteger(v))) {
    throw new UsageError(`${flag} expects ${kind}, got ${JSON.stringify(text)}`);
  }
  const low = rule.min !== undefined &&
    (rule.exclusiveMin ? v <= rule.min : v < rule.min);
  if (low || (rule.max !== undefined && v > rule.max)) {
    const lo = rule.min === undefined ? "" : `${rule.exclusiveMin ? ">" : ">="} ${rule.min}`;
    const hi = rule.max === undefined ? "" : `<= ${rule.max}`;
    throw new UsageError(`${flag} must be ${[lo, hi].filter(Boolean).join(" and ")}, got ${v}`);
  }
  return v;
}

/** A numeric option's value, `fallback` when absent. @throws UsageError. */
export function num(values: Values, name: string, fallback: number, rule: NumberRule = {}): number {
  const v = str(values, name);
  return v === undefined ? fallback : parseNumber(`--${name}`, v, rule);
}

/** A string option restricted to `choices`. @throws UsageError. */
export function choice<T extends string>(
  values: Values,
  name: string,
  choices: readonly T[],
  fallback: T,
): T {
  const v = str(values, name);
  if (v === undefined) return fallback;
  if (!(choices as readonly string[]).includes(v)) {
    throw new UsageError(
      `--${name} must be one of ${choices.join(", ")}, got ${JSON.stringify(v)}`,
    );
  }
  return v as T;
}

/**
 * Runs a task body: its result is the exit code; any error prints `error: <first line>`
 * on stderr and gives 1 (130 when interrupted).
 */
export async function runTask(body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    console.error(`error: ${msg.split("\n")[0]}`);
    return /cancelled$/.test(msg) ? 130 : 1;
  }
}

/**
 * Calls `f` with a signal that aborts on Ctrl-C (SIGINT), so a run stops cleanly.
 * @example
 * ```ts ignore
 * await withInterrupt((signal) => engine.train(req, { signal }));
 * ```
 */
export async function withInterrupt<T>(f: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const onSignal = () => ac.abort();
  let listening = false;
  try {
    Deno.addSignalListener("SIGINT", onSignal);
    listening = true;
  } catch {
    // Signals unsupported here: run without cancellation.
  }
  try {
    return await f(ac.signal);
  } finally {
    if (listening) Deno.removeSignalListener("SIGINT", onSignal);
  }
}

/** Whether `path` is an existing directory. */
export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
