/**
 * Readiness: false until the default model is loaded (its sessions created), and again
 * once shutdown begins.
 *
 * @example
 * ```ts
 * import { Readiness } from "./readiness.ts";
 * const r = new Readiness(() => Promise.resolve());
 * console.assert(!r.status().ready);
 * await r.start();
 * console.assert(r.status().ready);
 * ```
 *
 * @module
 */

/** Tracks whether the server can take model work. */
export class Readiness {
  #state: "idle" | "loading" | "ready" | "failed" | "stopping" = "idle";
  #reason = "the default model is not loaded yet";
  #loading: Promise<void> | null = null;
  #failedAt = 0;

  /**
   * @param load Loads the default model.
   * @param retryMs After a failed load, how long {@linkcode retryIfDue} waits before loading
   * again (a Hub or mirror that was down at start may be back).
   */
  constructor(private readonly load: () => Promise<unknown>, private readonly retryMs = 30_000) {}

  /** Starts loading again when the last attempt failed at least `retryMs` ago (probes call it). */
  retryIfDue(now: number = Date.now()): void {
    if (this.#state === "failed" && now - this.#failedAt >= this.retryMs) void this.start();
  }

  /** Loads the model (once at a time; again after a failure). Never throws. */
  start(): Promise<void> {
    if (this.#state === "ready" || this.#state === "stopping") return Promise.resolve();
    this.#loading ??= (async () => {
      this.#state = "loading";
      try {
        await this.load();
        if (this.#state === "loading") this.#state = "ready";
      } catch (e) {
        this.#state = "failed";
        this.#failedAt = Date.now();
        this.#reason = `loading the default model failed: ${(e as Error).message}`;
      } finally {
        this.#loading = null;
      }
    })();
    return this.#loading;
  }

  /** Marks the server as stopping (not ready from now on). */
  stop(): void {
    this.#state = "stopping";
    this.#reason = "the server is shutting down";
  }

  /**
   * Ready or not, and why not; `failed` when loading the default model failed (the reason
   * then says why, e.g. a pending or unknown model), as opposed to not loaded yet or stopping.
   */
  status(): { ready: boolean; reason?: string; failed?: boolean } {
    if (this.#state === "ready") return { ready: true };
    return { ready: false, reason: this.#reason, failed: this.#state === "failed" };
  }
}
