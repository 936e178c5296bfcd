/**
 * The store's health for /readyz: one cheap probe (`exists` on a key no one writes) at a
 * time, bounded by its own short deadline, its answer kept for a few seconds so that probes
 * do not hammer the store. A store that fails or hangs makes the instance not ready; the
 * store's own per-operation deadline bounds the probe in the background.
 *
 * @example
 * ```ts
 * import { StoreHealth } from "./store_health.ts";
 * import { FsStore } from "../../core/engine/mod.ts";
 * const health = new StoreHealth(new FsStore(await Deno.makeTempDir()));
 * console.assert((await health.check()).ok);
 * ```
 *
 * @module
 */
import type { Store } from "../../core/engine/mod.ts";

/** The probe's outcome. */
export interface StoreHealthStatus {
  ok: boolean;
  /** Why not, when not. */
  reason?: string;
}

/** Options of {@linkcode StoreHealth}. */
export interface StoreHealthOptions {
  /** How long a probe may take before the store counts as hung (default 2000 ms). */
  probeMs?: number;
  /** How long an answer is reused (default 5000 ms). */
  cacheMs?: number;
}

const PROBE_KEY = "_health/probe";

/** Probes a store, at most once per `cacheMs`. */
export class StoreHealth {
  readonly #probeMs: number;
  readonly #cacheMs: number;
  #last: { at: number; status: StoreHealthStatus } | null = null;
  #inFlight: Promise<StoreHealthStatus> | null = null;

  constructor(private readonly store: Store, opts: StoreHealthOptions = {}) {
    this.#probeMs = opts.probeMs ?? 2000;
    this.#cacheMs = opts.cacheMs ?? 5000;
  }

  /** The store's health, probing when the last answer is older than `cacheMs`. */
  check(now: number = Date.now()): Promise<StoreHealthStatus> {
    if (this.#last && now - this.#last.at < this.#cacheMs) {
      return Promise.resolve(this.#last.status);
    }
    this.#inFlight ??= this.#probe().then((status) => {
      this.#last = { at: Date.now(), status };
      this.#inFlight = null;
      return status;
    });
    return this.#inFlight;
  }

  async #probe(): Promise<StoreHealthStatus> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const hung = new Promise<StoreHealthStatus>((resolve) => {
      timer = setTimeout(
        () => resolve({ ok: false, reason: `the store did not answer in ${this.#probeMs} ms` }),
        this.#probeMs,
      );
    });
    const probe = this.store.exists(PROBE_KEY).then(
      (): StoreHealthStatus => ({ ok: true }),
      (e): StoreHealthStatus => ({
        ok: false,
        reason: `the store failed: ${e instanceof Error ? e.message : String(e)}`,
      }),
    );
    try {
      return await Promise.race([probe, hung]);
    } finally {
      clearTimeout(timer);
    }
  }
}
