/**
 * The request body shared by POST /v1/samples and POST /v1/embeddings: one distribution or a
 * weighted mix, and how to sample (limits from the configuration), turned into the engine's
 * {@linkcode SampleRequest}. Mix weights are normalised to sum to 1 (core/engine's `mixWeights`,
 * the mix rule of both front ends).
 *
 * @module
 */
import { z } from "@hono/zod-openapi";
import {
  mixWeights,
  SAMPLE_STEPS,
  SAMPLER_KINDS,
  type SampleRequest,
  type SamplerKind,
  SchedulerKind,
} from "../../core/engine/mod.ts";
import type { Limits } from "../config.ts";
import { DistributionId } from "./schemas.ts";

const MAX_MIX = 8;

function selectionShape(limits: Limits) {
  return {
    distribution: DistributionId.optional()
      .openapi({ description: "a distribution id (or give mix)" }),
    mix: z.array(z.object({ id: DistributionId, weight: z.number().positive().max(1000) }).strict())
      .min(1).max(MAX_MIX).optional(),
    gamma: z.number().min(0).max(10).default(1)
      .openapi({ description: "diversity: sigma' = gamma * sigma (0: the mean only)" }),
    template: z.string().min(1).max(500).refine((t) => t.includes("{}"), "must contain {}")
      .optional().openapi({ description: "edit template; {} is the learned prompt" }),
    negative_prompt: z.string().max(500).optional()
      .openapi({ description: 'text of the unconditional branch (default "")' }),
    mix_mode: z.enum(["paper", "rms"]).optional()
      .openapi({ description: "sigma of a mix: paper eq. 7 or rms" }),
    n: z.number().int().min(1).max(limits.maxN).default(1)
      .openapi({ description: "number of images / samples" }),
    seed: z.number().int().min(0).max(2 ** 32 - 1).optional()
      .openapi({ description: "random seed (absent: drawn, answered in X-Seed / seed)" }),
    shared_sample: z.boolean().optional()
      .openapi({ description: "one c~ for every image (authors' code variant)" }),
    // How c~ is drawn (DESIGN §4b); absent: the product default.
    sampler: z.enum(SAMPLER_KINDS).optional()
      .openapi({ description: "how c~ is drawn; absent: the product default" }),
  };
}

const ONE_OF = {
  message: "give exactly one of distribution and mix",
  path: ["distribution"],
};
const oneOf = (b: { distribution?: string; mix?: unknown }) =>
  (b.distribution === undefined) !== (b.mix === undefined);

/** The body of POST /v1/embeddings. */
export function embeddingsBodySchema(limits: Limits) {
  return z.object(selectionShape(limits)).strict().refine(oneOf, ONE_OF)
    .openapi("EmbeddingsRequest", {
      description: "One distribution or a weighted mix; n sampled text features c~",
      example: { distribution: "dd_abcdefghijklmnopqrst", n: 4, gamma: 1, seed: 7 },
    });
}

/** The body of POST /v1/samples. */
export function samplesBodySchema(limits: Limits) {
  return z.object({
    ...selectionShape(limits),
    steps: z.number().int().min(SAMPLE_STEPS.min).max(limits.maxSteps).default(SAMPLE_STEPS.default)
      .openapi({ description: "denoising steps" }),
    // Absent: the model's own defaults (Stable Diffusion: 7.5, no rescale, DDIM; dd-world-tiny:
    // 3, rescale 0.7, Euler ancestral).
    guidance: z.number().min(0).max(30).optional()
      .openapi({ description: "classifier-free guidance scale; absent: the model's" }),
    guidance_rescale: z.number().min(0).max(1).optional()
      .openapi({ description: "diffusers' guidance_rescale; absent: the model's" }),
    scheduler: z.enum(Object.values(SchedulerKind) as [SchedulerKind, ...SchedulerKind[]])
      .optional(),
    output: z.enum(["inline", "store"]).default("inline")
      .openapi({ description: "inline base64 PNGs, or store them and answer URLs" }),
  }).strict().refine(oneOf, ONE_OF).openapi("SamplesRequest", {
    description: "One distribution or a weighted mix (weights normalised), and how to sample",
    example: {
      mix: [{ id: "dd_abcdefghijklmnopqrst", weight: 0.7 }, {
        id: "dd_bcdefghijklmnopqrstu",
        weight: 0.3,
      }],
      template: "{} on the beach",
      gamma: 1,
      n: 4,
      steps: 25,
      seed: 7,
    },
  });
}

/** A validated body (the image fields present for samples). */
export interface SampleBody {
  distribution?: string;
  mix?: { id: string; weight: number }[];
  gamma: number;
  template?: string;
  negative_prompt?: string;
  mix_mode?: "paper" | "rms";
  n: number;
  seed?: number;
  shared_sample?: boolean;
  steps?: number;
  guidance?: number;
  guidance_rescale?: number;
  scheduler?: SchedulerKind;
  sampler?: SamplerKind;
}

/**
 * The engine's request for a body; the seed is drawn when absent.
 *
 * @returns The request (with the seed used).
 */
export function toSampleRequest(b: SampleBody): SampleRequest {
  return {
    distributions: mixWeights(b.mix ?? [{ id: b.distribution!, weight: 1 }]),
    gamma: b.gamma,
    n: b.n,
    seed: b.seed ?? crypto.getRandomValues(new Uint32Array(1))[0]!,
    steps: b.steps ?? 1,
    ...(b.guidance !== undefined ? { guidance: b.guidance } : {}),
    ...(b.guidance_rescale !== undefined ? { guidanceRescale: b.guidance_rescale } : {}),
    ...(b.sampler !== undefined ? { sampler: b.sampler } : {}),
    ...(b.template !== undefined ? { template: b.template } : {}),
    ...(b.negative_prompt !== undefined ? { negativePrompt: b.negative_prompt } : {}),
    ...(b.mix_mode !== undefined ? { mixMode: b.mix_mode } : {}),
    ...(b.scheduler !== undefined ? { scheduler: b.scheduler } : {}),
    ...(b.shared_sample !== undefined ? { sharedSample: b.shared_sample } : {}),
  };
}
