/**
 * The task kernel: what every deno task shares. {@linkcode defineTask} turns a usage line, an
 * option table and a `run` body into `main(args, io)`: the table drives both `parseArgs`
 * (node:util, strict) and `--help` (added to every task), output goes through an injectable
 * {@linkcode TaskIo} (so tests call `main` in-process), and any error becomes one
 * `error: ...` line on stderr with exit code 1. {@linkcode runMain} is the process entry: it
 * moves to the caller's working directory (`INIT_CWD`, set by `deno task`, which itself runs
 * in the deno.json folder) so relative paths mean what the caller meant, then exits with
 * `main`'s code. Also strict number parsing and option readers.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { CodedError, isAbort } from "../errors.ts";

/** One command-line option: its type, default (for --help) and description. */
export interface OptionSpec {
  type: "string" | "boolean";
  /** Shown in --help as `(default: ...)`; not applied by the parser. */
  default?: string;
  /** Placeholder after the flag in --help, e.g. `N` or `DIR`. */
  arg?: string;
  short?: string;
  /** A string option that may repeat (values collected in order). */
  multiple?: boolean;
  help: string;
}

/** An option table, keyed by the long flag without `--`. */
export type OptionTable = Record<string, OptionSpec>;

/** Parsed values: strings for string options, booleans for flags. */
export type Values = Record<string, string | boolean | string[] | undefined>;

/** An error in how the task was called (shown as one line, exit code 1). */
export class UsageError extends CodedError<"usage"> {
  /** @param message What was wrong with the call, in one line. */
  constructor(message: string) {
    super("usage", message);
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
  const options: Record<
    string,
    { type: "string" | "boolean"; short?: string; multiple?: boolean }
  > = {};
  for (const [name, spec] of Object.entries(table)) {
    options[name] = {
      type: spec.type,
      ...(spec.short ? { short: spec.short } : {}),
      ...(spec.multiple ? { multiple: true } : {}),
    };
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
export async function runTask(
  body: () => Promise<number>,
  err: (line: string) => void = console.error,
  prefix = "error",
): Promise<number> {
  try {
    return await body();
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    err(`${prefix}: ${msg.split("\n")[0]}`);
    return isAbort(e) ? 130 : 1;
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

/** Where a task writes and what it reads from its process (tests pass their own). */
export interface TaskIo {
  /** One line of the task's result (default: stdout). */
  out?: (line: string) => void;
  /** One line of logs, warnings or the error (default: stderr). */
  err?: (line: string) => void;
  /** Raw text for progress bars (default: stderr, unbuffered). */
  progress?: (text: string) => void;
  /** Whether progress may redraw in place (default: whether stderr is a terminal). */
  tty?: boolean;
  /** Environment (default: the process's). */
  env?: Record<string, string>;
}

/** A {@linkcode TaskIo} with every field filled. */
export type FullTaskIo = Required<TaskIo>;

const encoder = new TextEncoder();

/** The process's own streams and environment. */
export function processIo(): FullTaskIo {
  return {
    out: (line) => console.log(line),
    err: (line) => console.error(line),
    progress: (text) => Deno.stderr.writeSync(encoder.encode(text)),
    tty: Deno.stderr.isTerminal(),
    env: Deno.env.toObject(),
  };
}

/** What a task body receives. */
export interface TaskContext {
  values: Values;
  positionals: string[];
  io: FullTaskIo;
}

/** A task: its --help text and options, and its body. */
export interface TaskDefinition {
  /** `usage: deno task NAME ...` (one or more lines). */
  usage: string;
  /** What the task does, shown under the usage line. */
  about: string;
  /** Options; `--help, -h` is added. */
  options: OptionTable;
  /** Whether bare arguments are allowed (they arrive in `positionals`). */
  positionals?: boolean;
  /** Prefix of the one-line error (default `error`). */
  errorPrefix?: string;
  /** The body: returns the exit code; throws for one `error: ...` line and code 1. */
  run(ctx: TaskContext): Promise<number>;
}

/** A task's entry point: arguments (and optionally its io) in, exit code out. */
export type TaskMain = (args: string[], io?: TaskIo) => Promise<number>;

const HELP_OPTION: OptionSpec = { type: "boolean", short: "h", help: "show this help" };

/** The full --help text of a task definition. */
export function taskHelp(def: Pick<TaskDefinition, "usage" | "about" | "options">): string {
  return helpText(def.usage, def.about, { ...def.options, help: HELP_OPTION });
}

/**
 * Makes a task's `main`: parses `args` against the option table, answers `--help` with the
 * usage and exit code 0, then runs the body; any error is one line on stderr and code 1
 * (130 when cancelled).
 * @example
 * ```ts
 * import { defineTask } from "./_cli.ts";
 * const main = defineTask({
 *   usage: "usage: deno task hello [--name NAME]",
 *   about: "Greets.",
 *   options: { name: { type: "string", arg: "NAME", help: "who" } },
 *   run: ({ values, io }) => {
 *     io.out(`hello ${values.name ?? "world"}`);
 *     return Promise.resolve(0);
 *   },
 * });
 * const lines: string[] = [];
 * console.assert(await main(["--name", "x"], { out: (l) => lines.push(l) }) === 0);
 * console.assert(lines[0] === "hello x");
 * ```
 */
export function defineTask(def: TaskDefinition): TaskMain {
  const table = { ...def.options, help: HELP_OPTION };
  return (args, io = {}) => {
    const full: FullTaskIo = { ...processIo(), ...io };
    if (io.progress && io.tty === undefined) full.tty = false;
    return runTask(
      async () => {
        const { values, positionals } = parseOptions(args, table, def.positionals ?? false);
        if (values.help) {
          full.out(taskHelp(def).trimEnd());
          return 0;
        }
        return await def.run({ values, positionals, io: full });
      },
      full.err,
      def.errorPrefix,
    );
  };
}

/**
 * The directory a task was called from: `INIT_CWD` (set by `deno task`, which runs tasks in
 * the deno.json folder), else the current directory.
 */
export function callerCwd(env: Record<string, string | undefined> = Deno.env.toObject()): string {
  const init = env.INIT_CWD;
  return init !== undefined && init !== "" ? init : Deno.cwd();
}

/**
 * Runs `main` as the process: relative paths resolve against the caller's directory
 * ({@linkcode callerCwd}), and the exit code is `main`'s.
 * @example
 * ```ts ignore
 * if (import.meta.main) await runMain(main);
 * ```
 */
export async function runMain(main: TaskMain): Promise<never> {
  const cwd = callerCwd();
  if (cwd !== Deno.cwd()) Deno.chdir(cwd);
  Deno.exit(await main(Deno.args));
}

/** A repeated string option's values ([] when absent). */
export function list(values: Values, name: string): string[] {
  const v = values[name];
  return Array.isArray(v) ? v : typeof v === "string" ? [v] : [];
}
