/**
 * GET /v1/distributions/{id}/textual_inversion: the distribution's learned prompts as
 * textual-inversion embeddings for AUTOMATIC1111 and ComfyUI (safetensors, one tensor
 * `emb_params` [M, d] per prompt; layout and sources in core/export/textual_inversion.ts).
 * One prompt answers the `.safetensors` file itself; several answer a zip of them.
 *
 * @module
 */
import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { zipSync } from "fflate";
import { textualInversionFiles, TI_NAME } from "../../core/engine/mod.ts";
import type { AppDeps, AppEnv } from "../env.ts";
import { ApiError, errorResponses, route } from "../errors.ts";
import { DistributionIdParams } from "../lib/schemas.ts";

const Query = z.object({
  prompts: z.string().regex(/^\d{1,4}(,\d{1,4}){0,255}$/, "expected 0-based indices like 0,3,5")
    .optional().openapi({
      description: "Which prompts k (0-based, comma-separated); default all K",
      example: "0,3",
    }),
  dtype: z.enum(["float32", "float16"]).default("float32").openapi({
    description: "Stored dtype of emb_params",
  }),
  name: z.string().regex(TI_NAME, "expected 1 to 64 of A-Z a-z 0-9 . _ -").optional().openapi({
    description: "Trigger word and file name base (`NAME-k00`); default the distribution id",
    example: "my-style",
  }),
});

/** Mounts the route on `app`. */
export function textualInversionGet(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const def = route(
    "get",
    "/v1/distributions/{id}/textual_inversion",
    "Learned prompts as textual-inversion embeddings (AUTOMATIC1111, ComfyUI)",
    {
      description: "Each selected prompt k as `NAME-kNN.safetensors` holding one tensor " +
        "`emb_params` [M, d] (the prompt's M vectors in the text encoder's input space). " +
        "One prompt: the file; several: a zip. One embedding carries one prompt, not the " +
        "distribution (no mu, sigma or fresh draw per image).",
      request: { params: DistributionIdParams, query: Query },
      responses: {
        200: {
          description: "A safetensors file (one prompt) or a zip of them",
          content: {
            "application/octet-stream": { schema: z.string().openapi({ format: "binary" }) },
            "application/zip": { schema: z.string().openapi({ format: "binary" }) },
          },
        },
        ...errorResponses,
      },
    },
  );
  app.openapi(def, async (c) => {
    const { id } = c.req.valid("param");
    const q = c.req.valid("query");
    const { manifest, tensors } = await deps.engine.get(id);
    let files;
    try {
      files = textualInversionFiles(manifest, tensors, {
        ...(q.prompts !== undefined ? { prompts: q.prompts.split(",").map(Number) } : {}),
        dtype: q.dtype,
        ...(q.name !== undefined ? { name: q.name } : {}),
      });
    } catch (e) {
      if (e instanceof RangeError) throw new ApiError(400, "validation_error", e.message);
      throw e;
    }
    if (files.length === 1) {
      const f = files[0]!;
      return c.body(f.bytes as Uint8Array<ArrayBuffer>, 200, {
        "Content-Type": "application/octet-stream",
        "Content-Disposition": `attachment; filename="${f.fileName}"`,
      });
    }
    // safetensors are incompressible floats: store them (level 0).
    const zip = zipSync(Object.fromEntries(files.map((f) => [f.fileName, f.bytes])), { level: 0 });
    return c.body(zip as Uint8Array<ArrayBuffer>, 200, {
      "Content-Type": "application/zip",
      "Content-Disposition": `attachment; filename="${q.name ?? id}-textual-inversion.zip"`,
    });
  });
}
