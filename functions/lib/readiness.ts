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

  /** @param load Loads the default model. */
  constructor(private readonly load: () => Promise<unknown>) {}

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
