/**
 * zod schemas shared by several routes (and named in the OpenAPI document).
 *
 * @module
 */
import { z } from "@hono/zod-openapi";
import { manifestSchema } from "../../core/artifacts/distribution_artifact.ts";

/**
 * A distribution's manifest (as stored). Rebuilt from core's shape: schemas made before
 * @hono/zod-openapi was first imported have no `.openapi()`.
 */
export const ManifestSchema = z.object(manifestSchema.shape).openapi("Manifest");

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
