/**
 * Bounded concurrency for model work: `concurrency` jobs run, at most `maxWaiting` wait, and
 * a request that finds both full is refused at once with 429 and a `Retry-After` estimated
 * from recent durations. The middleware only reserves a place (a {@linkcode Ticket}); the
 * handler runs its model work through `ticket.run()`, which waits for a slot. A ticket the
 * handler did not use (a validation error, a replay) is given back when the handler returns;
 * one handed to a stream or a background job is released when that work ends.
 *
 * @example
 * ```ts
 * import { WorkQueue } from "./index.ts";
 * const q = new WorkQueue({ concurrency: 1, maxWaiting: 0 });
 * const t = q.tryReserve()!;
 * console.assert(q.tryReserve() === null); // full
 * console.assert((await t.run(() => Promise.resolve(42))) === 42);
 * console.assert(q.tryReserve() !== null);
 * ```
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { ApiError } from "../../errors.ts";

/** Options of {@linkcode WorkQueue}. */
export interface WorkQueueOptions {
  /** Work run at once (default 1). */
  concurrency?: number;
  /** Work allowed to wait (default 8). */
  maxWaiting?: number;
}

/** A reserved place in a {@linkcode WorkQueue}. */
export interface Ticket {
  /**
   * Waits for a slot, runs `work`, frees the place. Once per ticket.
   * @throws The signal's reason when aborted while waiting (the place is freed).
   */
  run<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** Frees the place if `run` was never called; otherwise does nothing. */
  release(): void;
  /** Whether `run` was called. */
  readonly used: boolean;
}

/** The queue: reservations, slots and a duration estimate. */
export class WorkQueue {
  readonly concurrency: number;
  readonly maxWaiting: number;
  #reserved = 0;
  #running = 0;
  #waiters: (() => void)[] = [];
  #recent: number[] = [];

  constructor(options: WorkQueueOptions = {}) {
    this.concurrency = options.concurrency ?? 1;
    this.maxWaiting = options.maxWaiting ?? 8;
  }

  /** Places taken (running, waiting, or reserved by a handler not yet running). */
  get reserved(): number {
    return this.#reserved;
  }

  /** Work running now. */
  get running(): number {
    return this.#running;
  }

  /** Seconds a new request would likely wait (at least 1). */
  retryAfterSeconds(): number {
    const avgMs = this.#recent.length
      ? this.#recent.reduce((a, b) => a + b, 0) / this.#recent.length
      : 5000;
    return Math.max(1, Math.ceil((avgMs * (this.#reserved / this.concurrency)) / 1000));
  }

  /** A place, or null when running and waiting places are all taken. */
  tryReserve(): Ticket | null {
    if (this.#reserved >= this.concurrency + this.maxWaiting) return null;
    this.#reserved++;
    let state: "reserved" | "used" | "freed" = "reserved";
    const free = () => {
      if (state === "reserved") this.#reserved--;
      state = "freed";
    };
    return {
      run: async <T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> => {
        if (state !== "reserved") throw new Error("ticket already used or released");
        state = "used";
        try {
          await this.#acquire(signal);
        } catch (e) {
          this.#reserved--;
          throw e;
        }
        const start = performance.now();
        try {
          return await work();
        } finally {
          this.#record(performance.now() - start);
          this.#running--;
          this.#reserved--;
          this.#waiters.shift()?.();
        }
      },
      release: free,
      get used() {
        return state === "used";
      },
    };
  }

  #acquire(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.#running < this.concurrency) {
      this.#running++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const wake = () => {
        signal?.removeEventListener("abort", onAbort);
        this.#running++;
        resolve();
      };
      const onAbort = () => {
        this.#waiters = this.#waiters.filter((w) => w !== wake);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(wake);
    });
  }

  #record(ms: number): void {
    this.#recent.push(ms);
    if (this.#recent.length > 20) this.#recent.shift();
  }
}

/** The context variable set by {@linkcode queue}. */
export type QueueEnv = { Variables: { ticket: Ticket } };

/**
 * Reserves a place in `q` for the request, or refuses it with 429 `queue_full`.
 *
 * @param q The shared queue.
 * @returns The middleware; the handler finds the ticket in `c.get("ticket")`.
 */
export function queue(q: WorkQueue): MiddlewareHandler<QueueEnv> {
  return async function queueMiddleware(c, next) {
    const ticket = q.tryReserve();
    if (ticket === null) {
      const wait = q.retryAfterSeconds();
      throw new ApiError(429, "queue_full", `the server is busy; retry in ${wait} s`, wait);
    }
    c.set("ticket", ticket);
    try {
      await next();
    } finally {
      if (!ticket.used) ticket.release();
    }
  };
}
