/**
 * zod schemas shared by several routes (and named in the OpenAPI document), and the API's
 * snake_case views of core's records: a distribution's manifest in full, or as a summary
 * without the loss curve (listings).
 *
 * @example
 * ```ts ignore
 * const body = manifestView(manifest); // {id, created_at, k, m, l, d, loss_curve, ...}
 * ```
 *
 * @module
 */
import { z } from "@hono/zod-openapi";
import type { Manifest } from "../../core/engine/mod.ts";
import { toApiOptions } from "./api_options.ts";

/** Distribution ids as the store accepts them. */
export const DistributionId = z.string().regex(/^[a-z0-9_-]{1,64}$/, {
  message: "expected 1 to 64 of a-z 0-9 _ -",
});

/** `{id}` in a distribution path. */
export const DistributionIdParams = z.object({
  id: DistributionId.openapi({
    param: { name: "id", in: "path" },
    example: "dd_abcdefghijklmnopqrst",
  }),
});

const dim = (what: string) => z.number().int().positive().openapi({ description: what });

const summaryShape = {
  id: z.string().openapi({ example: "dd_abcdefghijklmnopqrst" }),
  created_at: z.string().openapi({ format: "date-time" }),
  model: z.object({ name: z.string(), revision: z.string() }),
  k: dim("learned prompts K"),
  m: dim("token vectors per prompt M"),
  l: dim("text length L (tokens)"),
  d: dim("text feature width d"),
  template: z.object({ prefix: z.string(), suffix: z.string() }).openapi({
    description: "the training template around the learned tokens: [BOS] prefix V suffix [EOS]",
  }),
  options: z.record(z.string(), z.unknown()).openapi({
    description: "the training options used (TrainOptions names)",
  }),
};

/** A distribution as listed: no loss curve, no file hashes. */
export const DistributionSummarySchema = z.object({
  ...summaryShape,
  reference_count: z.number().int().nonnegative(),
  final_loss: z.number().nullable().openapi({ description: "the last loss of the curve" }),
}).openapi("DistributionSummary");

/** A distribution's manifest, as the API shows it. */
export const ManifestSchema = z.object({
  format: z.string().openapi({ example: "dreamdistribution/1" }),
  ...summaryShape,
  references: z.array(z.object({ sha256: z.string() })),
  loss_curve: z.array(z.number()),
  files: z.record(z.string(), z.object({ sha256: z.string(), size: z.number().int() })),
}).openapi("Manifest");

/** The API view of a manifest. */
export type ManifestView = z.infer<typeof ManifestSchema>;
/** The API summary of a manifest. */
export type DistributionSummary = z.infer<typeof DistributionSummarySchema>;

function common(m: Manifest) {
  return {
    id: m.id,
    created_at: m.createdAt,
    model: m.model,
    k: m.K,
    m: m.M,
    l: m.L,
    d: m.d,
    template: m.template,
    options: toApiOptions(m.options),
  };
}

/**
 * A manifest under the API's names.
 *
 * @param m Core's manifest.
 */
export function manifestView(m: Manifest): ManifestView {
  return {
    format: m.format,
    ...common(m),
    references: m.references,
    loss_curve: m.lossCurve,
    files: m.files,
  };
}

/**
 * A manifest as listed.
 *
 * @param m Core's manifest.
 */
export function manifestSummary(m: Manifest): DistributionSummary {
  return {
    ...common(m),
    reference_count: m.references.length,
    final_loss: m.lossCurve.at(-1) ?? null,
  };
}
