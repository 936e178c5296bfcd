/**
 * A checkpoint's own sampling defaults. Stable Diffusion's classifier-free guidance scale of
 * 7.5 saturates a small pixel-space model such as dd-world-tiny (its captioned kind and
 * colour survive in 3% of images at 7.5, in 99.5% at 1), so a checkpoint may name
 * its default in model_index.json under `_dd_sampler_defaults` (a `_`-prefixed key, which
 * diffusers treats as metadata, not as a component). Requests that give a guidance use it.
 *
 * @module
 */
import { join } from "node:path";

/** Guidance used when neither the request nor the checkpoint names one (diffusers' default). */
export const FALLBACK_GUIDANCE = 7.5;

/** Sampling defaults of a checkpoint folder. */
export interface SamplerDefaults {
  guidance: number;
  /** diffusers' guidance_rescale (0 when the checkpoint names none). */
  guidanceRescale: number;
  /** The sampler, as a SchedulerKind value; undefined: the caller's default (DDIM). */
  scheduler?: string;
}

const FALLBACK: SamplerDefaults = { guidance: FALLBACK_GUIDANCE, guidanceRescale: 0 };

/**
 * Reads `_dd_sampler_defaults` of `dir/model_index.json`; missing file or key → fallbacks.
 * @throws Error when the key is present but malformed.
 * @example
 * ```ts ignore
 * const { guidance } = await readSamplerDefaults("core/models/embedded/dd-world-tiny");
 * ```
 */
export async function readSamplerDefaults(dir: string): Promise<SamplerDefaults> {
  let index: Record<string, unknown>;
  try {
    index = JSON.parse(await Deno.readTextFile(join(dir, "model_index.json")));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { ...FALLBACK };
    throw e;
  }
  const d = index._dd_sampler_defaults as
    | { guidance_scale?: unknown; guidance_rescale?: unknown; scheduler?: unknown }
    | undefined;
  if (d === undefined) return { ...FALLBACK };
  const bad = (what: string) =>
    new Error(`${join(dir, "model_index.json")}: _dd_sampler_defaults.${what}`);
  const g = d.guidance_scale;
  if (typeof g !== "number" || !Number.isFinite(g) || g < 0) {
    throw bad("guidance_scale must be a number >= 0");
  }
  const phi = d.guidance_rescale ?? 0;
  if (typeof phi !== "number" || !(phi >= 0 && phi <= 1)) {
    throw bad("guidance_rescale must be a number in [0, 1]");
  }
  if (d.scheduler !== undefined && typeof d.scheduler !== "string") {
    throw bad("scheduler must be a string");
  }
  return {
    guidance: g,
    guidanceRescale: phi,
    ...(d.scheduler !== undefined ? { scheduler: d.scheduler } : {}),
  };
}
