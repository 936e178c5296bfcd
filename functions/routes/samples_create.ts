/**
 * POST /v1/samples: images from one distribution or a weighted mix. `Accept: image/png` with
 * n = 1 answers the PNG itself (with n > 1 or `"output": "store"` and no JSON acceptable: 406,
 * before any work); otherwise JSON with base64 PNGs, or with `"output": "store"` the images are
 * written to the store under `samples/<id>/<i>.png` and their store-relative keys returned, with
 * a URL when the store has one a client can use (pre-signed, or an http(s) store's); a folder
 * store's absolute path is never returned.
 *
 * @module
 */
import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { encodePng } from "../../core/engine/mod.ts";
import type { AppDeps, AppEnv } from "../env.ts";
import { ApiError, errorResponses, ErrorSchema, route } from "../errors.ts";
import { toBase64 } from "../lib/base64.ts";
import { checkSampleBudget } from "../lib/memory_budget.ts";
import { samplesBodySchema, toSampleRequest } from "../lib/sample_input.ts";

const SamplesSchema = z.object({
  seed: z.number().int(),
  id: z.string().optional().openapi({ description: "with output=store: the folder's id" }),
  images: z.array(z.object({
    png_base64: z.string().optional(),
    key: z.string().optional(),
    url: z.string().optional(),
  })),
}).openapi("Samples");

/** Mounts the route on `app`. */
export function samplesCreate(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const def = route("post", "/v1/samples", "Generate images from a distribution or a mix", {
    request: {
      body: {
        required: true,
        content: { "application/json": { schema: samplesBodySchema(deps.config.limits) } },
      },
    },
    responses: {
      200: {
        description: "The images (PNG for n = 1 with Accept: image/png)",
        content: {
          "application/json": { schema: SamplesSchema },
          "image/png": { schema: z.string().openapi({ format: "binary" }) },
        },
      },
      ...errorResponses,
      406: {
        description: "Accept: image/png (only) with n > 1 or output=store: a PNG holds one image",
        content: { "application/json": { schema: ErrorSchema } },
      },
    },
  });
  app.openapi(def, async (c) => {
    const body = c.req.valid("json");
    const req = toSampleRequest(body);
    const accept = c.req.header("accept") ?? "";
    const png = /image\/png/i.test(accept);
    const jsonOk = accept.trim() === "" || /application\/json|application\/\*|\*\/\*/i.test(accept);
    if (png && !jsonOk && (req.n > 1 || body.output === "store")) {
      const why = body.output === "store"
        ? '"output": "store" answers JSON with the images\' URLs'
        : `n = ${req.n} asks for ${req.n} images`;
      throw new ApiError(
        406,
        "not_acceptable",
        `Accept: image/png answers a single PNG, but ${why}: send Accept: application/json ` +
          '(base64 PNGs, or URLs with "output": "store"), or n = 1 for the PNG itself',
      );
    }
    await checkSampleBudget(deps, req);
    const { signal } = c.get("deadline");
    const images = await c.get("ticket").run(() => deps.engine.sample(req, { signal }), signal);
    const pngs = images.map(encodePng);
    if (body.output === "store") {
      const id = "smp_" + crypto.randomUUID().replaceAll("-", "").slice(0, 20);
      return c.json({ seed: req.seed, id, images: await deps.engine.storeSamples(id, pngs) }, 200);
    }
    if (req.n === 1 && /image\/png/i.test(c.req.header("accept") ?? "")) {
      return c.body(pngs[0]! as Uint8Array<ArrayBuffer>, 200, {
        "Content-Type": "image/png",
        "X-Seed": String(req.seed),
      });
    }
    return c.json({ seed: req.seed, images: pngs.map((p) => ({ png_base64: toBase64(p) })) }, 200);
  });
}
