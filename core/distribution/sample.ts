/**
 * Sampling from learned distributions (DESIGN §4): optional text-guided editing (re-encode
 * the K learned prompts inside a new template and refit mu/sigma), weighted mixing
 * (eq. 7), diversity scaling (gamma), a fresh c~ per image, then classifier-free guided
 * denoising with the encoding of the negative prompt ("" by default).
 *
 * @module
 */
import type { DistributionTensors, Manifest } from "../artifacts/mod.ts";
import type { RgbImage } from "../images/mod.ts";
import type { ModelRuntime } from "../models/mod.ts";
import type { SchedulerConfig, SchedulerKind } from "../schedulers/mod.ts";
import { DistributionInputError } from "./errors.ts";
import {
  DEFAULT_SAMPLER,
  type MixMode,
  PromptDistribution,
  type SamplerKind,
} from "./prompt_distribution.ts";
import { fitDistribution } from "./fit.ts";
import { renderDistribution, type RenderOptions, storedDistribution } from "./render.ts";
import { readTokenTable, templateIds, type TemplateTokenizer } from "./template.ts";

export { encodePrompt, renderDistribution, sampleFeatures, storedDistribution } from "./render.ts";

/** A tokenizer that also pads full sequences (for the negative prompt). */
export interface SampleTokenizer extends TemplateTokenizer {
  encodePadded(text: string, maxLength?: number): number[];
}

/** One distribution of a (possibly mixed) sample request. */
export interface WeightedDistribution {
  manifest: Manifest;
  tensors: DistributionTensors;
  weight: number;
}

/** What to sample: what to render, plus an optional new template and the mix rule. */
export interface SampleOptions extends RenderOptions {
  /** New template with `{}` for the learned prompt; absent = the learned mu/sigma as stored. */
  template?: string;
  mixMode?: MixMode;
  steps: number;
  scheduler?: SchedulerKind;
}

/** A model ready to sample from. */
export interface SampleModel {
  runtime: ModelRuntime;
  tokenizer: SampleTokenizer;
  schedulerConfig: SchedulerConfig;
}

/**
 * The distribution to sample from: each input refit inside `template` if given, then mixed.
 * @throws DistributionInputError (kind "request") for no inputs, distributions of different
 *   models or shapes, a bad template, bad weights.
 */
export async function resolveDistribution(
  model: SampleModel,
  dists: WeightedDistribution[],
  template: string | undefined,
  mixMode: MixMode = "paper",
  sampler: SamplerKind = DEFAULT_SAMPLER,
): Promise<PromptDistribution> {
  const needsFeatures = sampler !== "diagonal";
  if (dists.length === 0) {
    throw new DistributionInputError("request", "no distribution to sample from");
  }
  const first = dists[0]!.manifest;
  for (const { manifest: m } of dists) {
    if (m.model.name !== first.model.name || m.model.revision !== first.model.revision) {
      throw new DistributionInputError(
        "request",
        `cannot mix distributions of different models: ${first.model.name}@${first.model.revision} ` +
          `and ${m.model.name}@${m.model.revision}`,
      );
    }
  }
  const { maxLength: L, hiddenSize: d } = model.runtime.graphs.info;
  const table = template || needsFeatures ? await readTokenTable(model.runtime.graphs) : null;
  const parts: PromptDistribution[] = [];
  for (const { manifest: m, tensors: t } of dists) {
    if (m.L !== L || m.d !== d) {
      throw new DistributionInputError(
        "request",
        `distribution ${m.id} has features [${m.L}, ${m.d}], the model [${L}, ${d}]`,
      );
    }
    if (!template && (t.features || m.K === 1 || !needsFeatures)) {
      // Stored features give the spread; mu and sigma stay exactly as stored.
      parts.push(storedDistribution(m.K, t, [L, d]));
      continue;
    }
    // A new template, or an artifact from before features were stored: re-encode the prompts.
    const ids = templateIds(
      model.tokenizer,
      template ?? `${m.template.prefix} {} ${m.template.suffix}`,
      m.M,
      L,
    );
    const mode = m.K === 1 ? "none" : m.options.sigma === "population" ? "population" : "unbiased";
    parts.push(await fitDistribution(model.runtime, table!, ids, t.ctx.data, m.K, m.M, mode));
  }
  if (parts.length === 1 && dists[0]!.weight !== 1) {
    // Alone, a distribution is used as it is; any other weight is a caller's mistake.
    throw new DistributionInputError(
      "request",
      `a single distribution must have weight 1, got ${dists[0]!.weight}`,
    );
  }
  return parts.length === 1
    ? parts[0]!
    : PromptDistribution.mix(parts, dists.map((x) => x.weight), mixMode);
}

/** Generates n images from one distribution or a weighted mix. */
export async function sampleImages(
  model: SampleModel,
  dists: WeightedDistribution[],
  o: SampleOptions,
): Promise<RgbImage[]> {
  const dist = await resolveDistribution(model, dists, o.template, o.mixMode, o.sampler);
  return await renderDistribution(model, dist, o);
}
