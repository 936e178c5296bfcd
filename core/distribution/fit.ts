/**
 * From learned soft prompts to a prompt distribution: encode the K prompts ctx [K, M, d]
 * inside a template into text features c [K, L, d] (the text encoder, DreamDistribution §3.1),
 * then fit N(mu, sigma) to them (§3.2; sigma = 0 for Textual Inversion). Training uses it for
 * previews and its result, sampling for distributions stored as soft prompts.
 *
 * @module
 */
import type { ModelRuntime } from "../models/mod.ts";
import { PromptDistribution } from "./prompt_distribution.ts";
import { assembleEmbeds, type TemplateIds } from "./template.ts";

/** How sigma is fitted: `none` gives sigma = 0 (Textual Inversion). */
export type SigmaFit = "unbiased" | "population" | "none";

/**
 * Text features c [K, L, d] of K learned prompts ctx [K, M, d] inside a template.
 *
 * @example
 * ```ts ignore
 * const c = await promptFeatures(rt, table, ids, ctx, K, M);
 * ```
 */
export function promptFeatures(
  rt: ModelRuntime,
  table: Float32Array,
  ids: TemplateIds,
  ctx: Float32Array,
  K: number,
  M: number,
): Promise<Float32Array> {
  return rt.encodeEmbeds(assembleEmbeds(table, rt.graphs.info.hiddenSize, ids, ctx, K, M), K);
}

/**
 * Encodes K learned prompts inside a template and fits N(mu, sigma) to their features
 * (sigma = 0 for Textual Inversion).
 *
 * @example
 * ```ts ignore
 * const dist = await fitDistribution(rt, table, ids, ctx, K, M, "unbiased");
 * ```
 */
export async function fitDistribution(
  rt: ModelRuntime,
  table: Float32Array,
  ids: TemplateIds,
  ctx: Float32Array,
  K: number,
  M: number,
  sigma: SigmaFit,
): Promise<PromptDistribution> {
  const c = await promptFeatures(rt, table, ids, ctx, K, M);
  return distributionOfFeatures(rt, c, K, sigma);
}

/**
 * N(mu, sigma) of features c [K, L, d], keeping them for the other samplers.
 *
 * @example
 * ```ts ignore
 * const dist = distributionOfFeatures(rt, c, K, "population");
 * ```
 */
export function distributionOfFeatures(
  rt: ModelRuntime,
  c: Float32Array,
  K: number,
  sigma: SigmaFit,
): PromptDistribution {
  const { maxLength: L, hiddenSize: d } = rt.graphs.info;
  if (sigma === "none") {
    // Textual Inversion: sigma = 0, and a spread of one zero row, so every sampler gives mu.
    const one = PromptDistribution.withFeatures(
      PromptDistribution.fromFeatures(c, K, [L, d], "population").mu,
      1,
      [L, d],
    );
    return new PromptDistribution(one.mu, new Float32Array(one.mu.length), [L, d], one.spread);
  }
  return PromptDistribution.withFeatures(c, K, [L, d], sigma);
}
