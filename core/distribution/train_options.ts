/**
 * Training options with the paper's defaults (DESIGN §4) and their validation. Every
 * option is checked before any work starts, with a message naming it.
 * @module
 */
import { z } from "zod";
import { DistributionInputError } from "./errors.ts";

/** Longest `initWords` or `template` (characters); CLIP reads at most 77 tokens anyway. */
export const MAX_TEXT = 300;

/**
 * The training objective when a request names none: the product default, chosen by protocol
 * v2 of `deno task eval` on the development concepts (the README's evaluation says why).
 */
export const DEFAULT_OBJECTIVE: "paper" | "best_prompt" = "paper";

/**
 * The soft-min temperature over each reference's S samples when a request names none: the
 * product default, chosen by the same evaluation. 0 is the paper's mean over the samples: eval
 * amendment 9's rule (the acceptance's own criteria) picked the paper's form; the soft-min
 * (0.05, the default from amendments 6 to 8) covers more but makes gamma less of a dial.
 */
export const DEFAULT_SAMPLE_SOFTMIN = 0;

/**
 * zod schema of the training options; defaults follow the paper. Every number has a finite
 * range (a value outside it is refused before any work) and every string a length limit, so
 * that an option can neither overflow the training nor balloon the stored manifest:
 *
 * | option | range | | option | range |
 * | --- | --- | --- | --- | --- |
 * | K | 1..256 | | lambda | 0..10 |
 * | M | 1..64 | | initStd | 0..1 |
 * | S, batchSize | 1..64 | | minSnrGamma | (0, 100] or null |
 * | steps | 1..100000 | | bestPromptWeight | 0..100 |
 * | lr | (0, 1] | | bestPromptTemperature | 0.05..10 |
 * | weightDecay | 0..1 | | bestPromptRefresh | 1..10000 |
 * | maxGradNorm | 0..1000 | | seed | 0..2^32-1 |
 * | checkpointEvery | 0..100000 | | initWords, template | 1..300 / 0..300 characters |
 * | sampleSoftmin | 0..10 | | | |
 *
 * The server may lower K, M and steps further, and refuses what exceeds its memory budget
 * (core/engine/budget.ts). A training that still goes non-finite fails with
 * `DistributionInputError` and saves nothing.
 */
export const TrainOptionsSchema = z.object({
  /** "distribution" (DreamDistribution) or "textual_inversion" (K = 1, sigma = 0). */
  mode: z.enum(["distribution", "textual_inversion"]).default("distribution"),
  K: z.number().int().min(1).max(256).default(32),
  M: z.number().int().min(1).max(64).default(4),
  S: z.number().int().min(1).max(64).default(4),
  batchSize: z.number().int().min(1).max(64).default(4),
  steps: z.number().int().min(1).max(100_000).default(1500),
  lr: z.number().positive().max(1).default(1e-3),
  weightDecay: z.number().min(0).max(1).default(1e-2),
  maxGradNorm: z.number().min(0).max(1000).default(1),
  /** Ortho-loss weight; absent: the paper's 5e-3, or the authors' 1e-3 with `ortho: "pooled"`. */
  lambda: z.number().min(0).max(10).optional(),
  ortho: z.enum(["paper", "pooled"]).default("paper"),
  /** omega shared by the batch (paper) or drawn per image (authors' code), DESIGN §4b. */
  omega: z.enum(["shared", "per_image"]).default("shared"),
  /**
   * "paper": eq. 3-4 only. "best_prompt" adds, with weight `bestPromptWeight`, a term in which
   * each reference image is explained by its best prompt (a soft-min over k, DESIGN §4b). The
   * default is {@linkcode DEFAULT_OBJECTIVE}.
   */
  objective: z.enum(["paper", "best_prompt"]).default(DEFAULT_OBJECTIVE),
  bestPromptWeight: z.number().min(0).max(100).default(1),
  /**
   * How the eq. 3 term draws c~ while training: "diagonal" (the paper: mu + omega * sigma) or
   * "low_rank" (mu plus a random combination of the K prompts' deviations, the low-rank
   * sampler's form, so the prompts that sampling will mix are trained to stay on the
   * references), DESIGN §4b.
   */
  trainSampler: z.enum(["diagonal", "low_rank"]).default("diagonal"),
  /**
   * 0: the eq. 3 term averages the S samples' losses of each reference (paper). tau > 0: a
   * soft-min over them instead (temperature tau times the reference's mean loss), the
   * importance-weighted bound on the Gaussian's likelihood, which rewards sigma for samples
   * that explain different references (DESIGN §4b). With S = 1 both are the same loss. The
   * default is {@linkcode DEFAULT_SAMPLE_SOFTMIN}.
   */
  sampleSoftmin: z.number().min(0).max(10).default(DEFAULT_SAMPLE_SOFTMIN),
  /** Temperature of the soft-min, on per-reference standardised losses (0.05 to 10). */
  bestPromptTemperature: z.number().min(0.05).max(10).default(0.5),
  /** Steps between refreshes of the soft-min responsibilities. */
  bestPromptRefresh: z.number().int().min(1).max(10_000).default(25),
  sigma: z.enum(["unbiased", "population"]).default("unbiased"),
  /** Min-SNR-gamma loss weighting (authors' code: 5); null = off (paper). */
  minSnrGamma: z.number().positive().max(100).nullable().default(null),
  initStd: z.number().min(0).max(1).default(0.02),
  /** Initialise every prompt from these words' embeddings (authors' code option). */
  initWords: z.string().min(1).max(MAX_TEXT).optional(),
  /** Training template; `{}` marks the learned vectors. */
  template: z.string().max(MAX_TEXT).default("{}"),
  /** Random horizontal flip of the references (authors' code option). */
  flip: z.boolean().default(false),
  seed: z.number().int().min(0).max(2 ** 32 - 1).default(0),
  /** Checkpoint every N steps (0 = never). */
  checkpointEvery: z.number().int().min(0).max(100_000).default(0),
}).strict();

/** Validated training options. */
export type TrainOptions = Omit<z.infer<typeof TrainOptionsSchema>, "lambda"> & { lambda: number };

/** The input form of the options (what callers pass; defaults not yet applied). */
export type TrainOptionsInput = z.input<typeof TrainOptionsSchema>;

/** Options {@linkcode validateTrainOptions} returned: frozen, so they stay as checked. */
const checked = new WeakSet<object>();

/**
 * Whether `options` are a result of {@linkcode validateTrainOptions} (complete and checked):
 * such options pass through a second validation, and take no further defaults, as they are.
 */
export function isValidatedTrainOptions(options: object | undefined): options is TrainOptions {
  return options !== undefined && checked.has(options);
}

/**
 * Applies defaults and checks options against each other and the number of images: the one
 * check of training options. Its result is frozen; given back to it, it is returned as it
 * is (only the image count is checked again), so a run that validates early (the train task,
 * before any work) is not validated twice.
 * @throws DistributionInputError (kind "options") naming the offending option.
 */
export function validateTrainOptions(
  input: Partial<TrainOptionsInput>,
  imageCount: number,
): TrainOptions {
  if (isValidatedTrainOptions(input)) {
    if (imageCount < 1) throw new DistributionInputError("options", "no reference images");
    return input;
  }
  const o = checkTrainOptions(input, imageCount);
  checked.add(Object.freeze(o));
  return o;
}

function checkTrainOptions(
  input: Partial<TrainOptionsInput>,
  imageCount: number,
): TrainOptions {
  const parsed = TrainOptionsSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new DistributionInputError(
      "options",
      `invalid training option ${issue.path.join(".") || "(options)"}: ${issue.message}`,
    );
  }
  const o: TrainOptions = {
    ...parsed.data,
    lambda: parsed.data.lambda ?? (parsed.data.ortho === "pooled" ? 1e-3 : 5e-3),
  };
  if (imageCount < 1) throw new DistributionInputError("options", "no reference images");
  if (!o.template.includes("{}")) {
    throw new DistributionInputError("options", "invalid training option template: no {}");
  }
  if (o.mode === "textual_inversion") {
    // Textual Inversion: one prompt, no sigma, no ortho loss, one sample.
    return {
      ...o,
      K: 1,
      S: 1,
      lambda: 0,
      objective: "paper",
      omega: "shared",
      sampleSoftmin: 0,
    };
  }
  if (o.K < 2) {
    throw new DistributionInputError(
      "options",
      "invalid training option K: a distribution needs K >= 2 prompts",
    );
  }
  return o;
}
