/**
 * A small progress bar on stderr for the deno tasks:
 *
 *     train [#####.....] 12/50 loss 0.413 3.2 it/s ETA 11s
 *
 * On a terminal it is redrawn in place (`\r`); otherwise (logs, CI, pipes) one line is
 * printed every ~10% and at the end, so logs stay short.
 *
 * @module
 */

/** Settings of a {@linkcode ProgressBar}. */
export interface ProgressOptions {
  /** Units of work (steps). */
  total: number;
  /** Printed before the bar, e.g. "train". */
  label?: string;
  /** Bar cells; default 10. */
  width?: number;
  /** Redraw in place; default: whether stderr is a terminal. */
  tty?: boolean;
  /** Where text goes; default: stderr. */
  write?: (text: string) => void;
  /** Clock in milliseconds; default performance.now (tests pass a fake one). */
  now?: () => number;
  /** When the work began, on that clock; default: now. */
  start?: number;
}

/** What a step reports besides its count; rate and ETA are measured when absent. */
export interface ProgressInfo {
  loss?: number;
  /** Units per second. */
  rate?: number;
  /** Seconds left. */
  eta?: number;
}

/** `11s`, `2m05s`, `1h02m`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`;
}

const encoder = new TextEncoder();

/**
 * A progress bar; call {@linkcode ProgressBar.update} after each unit of work and
 * {@linkcode ProgressBar.finish} once at the end.
 * @example
 * ```ts
 * import { ProgressBar } from "./_progress.ts";
 * const lines: string[] = [];
 * const bar = new ProgressBar({ total: 4, tty: false, write: (t) => lines.push(t), now: () => 0 });
 * for (let i = 1; i <= 4; i++) bar.update(i, { loss: 0.5, rate: 2, eta: (4 - i) / 2 });
 * bar.finish();
 * console.assert(lines.at(-1) === "[##########] 4/4 loss 0.500 2.0 it/s ETA 0s\n");
 * ```
 */
export class ProgressBar {
  private readonly o: Required<Omit<ProgressOptions, "label" | "start">> & { label: string };
  private readonly start: number;
  private lastDecile = -1;
  private lastLine = "";
  private finished = false;

  constructor(options: ProgressOptions) {
    const tty = options.tty ?? Deno.stderr.isTerminal();
    this.o = {
      total: Math.max(1, options.total),
      label: options.label ? `${options.label} ` : "",
      width: options.width ?? 10,
      tty,
      write: options.write ?? ((t) => Deno.stderr.writeSync(encoder.encode(t))),
      now: options.now ?? (() => performance.now()),
    };
    this.start = options.start ?? this.o.now();
  }

  /** The line for `done` units (no newline). */
  line(done: number, info: ProgressInfo = {}): string {
    const { total, width, label } = this.o;
    const cells = Math.min(width, Math.floor((done / total) * width));
    const bar = `[${"#".repeat(cells)}${".".repeat(width - cells)}]`;
    const elapsed = (this.o.now() - this.start) / 1000;
    const rate = info.rate ?? (elapsed > 0 ? done / elapsed : NaN);
    const eta = info.eta ?? (rate > 0 ? (total - done) / rate : NaN);
    const parts = [`${label}${bar} ${done}/${total}`];
    if (info.loss !== undefined) parts.push(`loss ${info.loss.toFixed(3)}`);
    if (Number.isFinite(rate)) parts.push(`${rate.toFixed(1)} it/s`);
    parts.push(`ETA ${formatDuration(eta)}`);
    return parts.join(" ");
  }

  /** Reports `done` units finished. */
  update(done: number, info: ProgressInfo = {}): void {
    const line = this.line(done, info);
    this.lastLine = line;
    if (this.o.tty) {
      this.o.write(`\r${line}\x1b[K`);
      return;
    }
    const decile = Math.floor((done / this.o.total) * 10);
    if (decile > this.lastDecile) {
      this.lastDecile = decile;
      this.o.write(`${line}\n`);
    }
  }

  /** Ends the bar: a newline on a terminal, the last line if it was not printed yet. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.o.tty) {
      if (this.lastLine) this.o.write("\n");
    } else if (this.lastDecile < 10 && this.lastLine) {
      this.o.write(`${this.lastLine}\n`);
    }
  }
}

/** What {@linkcode countProgress} returns: the callback to give the work, and the end. */
export interface CountProgress {
  /** Draws the bar (made on the first call, when the total is known). */
  onProgress: (done: number, total: number) => void;
  /** Ends the bar's line, if a bar was drawn. */
  finish: () => void;
}

/**
 * A bar for work that reports `(done, total)`, made on the first report (when the total is
 * known) and timed from `start`.
 * @example
 * ```ts
 * import { countProgress } from "./_progress.ts";
 * const lines: string[] = [];
 * const p = countProgress("export", { progress: (t) => lines.push(t), tty: false });
 * p.onProgress(2, 2);
 * p.finish();
 * console.assert(lines.at(-1)!.includes("2/2"));
 * ```
 */
export function countProgress(
  label: string,
  io: { progress: (text: string) => void; tty: boolean },
  start = performance.now(),
): CountProgress {
  let bar: ProgressBar | undefined;
  return {
    onProgress: (done, total) => {
      bar ??= new ProgressBar({ total, label, start, write: io.progress, tty: io.tty });
      bar.update(done);
    },
    finish: () => bar?.finish(),
  };
}
