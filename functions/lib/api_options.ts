/**
 * Training options as the HTTP API names them: snake_case (`k`, `m`, `s`, `batch_size`,
 * `weight_decay`, ...), built from core's {@linkcode TrainOptionsSchema} by renaming its keys
 * (so ranges and defaults stay core's), mapped back to core's names here and nowhere else.
 *
 * Core's old names (`K`, `M`, `S`, `batchSize`, ...) are still accepted, deprecated: they are
 * renamed before validation, and the route answers with a `Deprecation: true` header and logs it
 * (see {@linkcode legacyOptionNames}). Giving an option under both names is refused.
 *
 * @example
 * ```ts
 * import { apiName, toCoreOptions } from "./api_options.ts";
 * console.assert(apiName("batchSize") === "batch_size" && apiName("K") === "k");
 * console.assert(toCoreOptions({ k: 3, batch_size: 2 }).batchSize === 2);
 * ```
 *
 * @module
 */
import { z } from "@hono/zod-openapi";
import { type TrainOptions, TrainOptionsSchema } from "../../core/engine/mod.ts";
import type { Limits } from "../config.ts";

type CoreKey = keyof typeof TrainOptionsSchema.shape;

/**
 * The API name of a core option: camelCase to snake_case, capitals lowered (`K` → `k`).
 *
 * @param core Core's name.
 */
export function apiName(core: string): string {
  return core.replace(/[A-Z]/g, (c, i: number) => (i > 0 ? "_" : "") + c.toLowerCase());
}

const CORE_KEYS = Object.keys(TrainOptionsSchema.shape) as CoreKey[];
const TO_CORE = new Map(CORE_KEYS.map((k) => [apiName(k), k]));
/** Core names that differ from their API names (the deprecated spellings). */
const LEGACY = new Map(CORE_KEYS.filter((k) => apiName(k) !== k).map((k) => [k, apiName(k)]));

/** What each option does, for the OpenAPI document (DESIGN §4, §4b). */
const HELP: Record<string, string> = {
  mode: "distribution (DreamDistribution) or textual_inversion (k = 1, sigma = 0)",
  k: "number of learned prompts K",
  m: "learned token vectors per prompt M",
  s: "Monte-Carlo samples of c~ per step S",
  batch_size: "reference images per step",
  steps: "optimisation steps",
  lr: "AdamW learning rate",
  weight_decay: "AdamW weight decay",
  max_grad_norm: "gradient-norm clip (0: off)",
  lambda: "ortho-loss weight (default 5e-3, or 1e-3 with ortho pooled)",
  ortho: "ortho loss: paper (all features) or pooled (authors' code, EOS features)",
  omega: "one omega per batch (shared, paper) or per image (authors' code)",
  objective: "paper (eq. 3-4) or best_prompt (each reference explained by its best prompt)",
  best_prompt_weight: "weight of the best-prompt term",
  best_prompt_temperature: "temperature of its soft-min",
  best_prompt_refresh: "steps between refreshes of its responsibilities",
  train_sampler: "how eq. 3 draws c~ while training: diagonal (paper) or low_rank",
  sample_softmin: "soft-min temperature over each reference's S samples (0: the paper's mean)",
  sigma: "unbiased or population standard deviation over the K prompts",
  min_snr_gamma: "Min-SNR-gamma loss weighting (authors' code: 5); null: off",
  init_std: "std of the normal initialisation of the prompts",
  init_words: "initialise every prompt from these words' embeddings instead",
  template: "training template; {} marks the learned vectors",
  flip: "random horizontal flip of the references",
  seed: "random seed",
  checkpoint_every: "checkpoint every N steps (0: never)",
};

/**
 * Renames deprecated core spellings to API names (leaving a name given both ways as it is, so
 * that validation refuses it).
 */
function renameLegacy(v: unknown): unknown {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return v;
  const out: Record<string, unknown> = {};
  const raw = v as Record<string, unknown>;
  for (const [key, value] of Object.entries(raw)) {
    const api = LEGACY.get(key as CoreKey);
    if (api !== undefined && !(api in raw)) out[api] = value;
    else out[key] = value;
  }
  return out;
}

/**
 * The deprecated option names a raw request body's `options` uses.
 *
 * @param options The raw `options` value (object, or a JSON string from a form).
 * @returns Their names, e.g. `["K", "batchSize"]`.
 */
export function legacyOptionNames(options: unknown): string[] {
  let o = options;
  if (typeof o === "string") {
    try {
      o = JSON.parse(o);
    } catch {
      return [];
    }
  }
  if (typeof o !== "object" || o === null || Array.isArray(o)) return [];
  return Object.keys(o).filter((k) => LEGACY.has(k as CoreKey));
}

/** A schema without its `.default()` (the inner schema of a ZodDefault), else itself. */
function withoutDefault(s: z.ZodType): z.ZodType {
  const def = (s as unknown as { _zod: { def: { type: string; innerType?: z.ZodType } } })._zod.def;
  return def.type === "default" && def.innerType ? def.innerType : s;
}

/** The training options accepted in a request: snake_case, all optional, under limits. */
export function optionsSchema(limits: Limits) {
  const shape: Record<string, z.ZodType> = {};
  for (const key of CORE_KEYS) {
    const api = apiName(key);
    // Without core's defaults: an absent option stays absent, so the engine can fill it from
    // the model's own training defaults first (core/distribution/train_defaults.ts).
    shape[api] = withoutDefault(TrainOptionsSchema.shape[key] as z.ZodType).optional()
      .openapi({ description: HELP[api] ?? key });
  }
  const max = { k: limits.maxK, m: limits.maxM, steps: limits.maxTrainSteps };
  const inner = z.object(shape).strict().superRefine((o, ctx) => {
    for (const [key, limit] of Object.entries(max)) {
      const v = o[key];
      if (typeof v === "number" && v > limit) {
        ctx.addIssue({ code: "custom", path: [key], message: `at most ${limit} on this server` });
      }
    }
  }).openapi("TrainOptions", {
    description: "Training options (DESIGN §4); absent ones take the model's training defaults " +
      "(`_dd_train_defaults` in its model_index.json), then the paper's. Deprecated: " +
      "core's camelCase names (K, M, S, batchSize, ...) are still accepted.",
    example: { k: 8, m: 4, steps: 300, batch_size: 4, seed: 1 },
  });
  return z.preprocess(renameLegacy, inner);
}

/** Validated API options. */
export type ApiTrainOptions = Record<string, unknown>;

/**
 * API options under core's names.
 *
 * @param o Validated snake_case options.
 * @returns Core's partial {@linkcode TrainOptions}.
 */
export function toCoreOptions(o: ApiTrainOptions): Partial<TrainOptions> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(o)) {
    if (value !== undefined) out[TO_CORE.get(key) ?? key] = value;
  }
  return out as Partial<TrainOptions>;
}

/**
 * Core-named options (as stored in a manifest) under their API names.
 *
 * @param o Options by core name.
 * @returns The same values by snake_case name.
 */
export function toApiOptions(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [apiName(k), v]));
}
