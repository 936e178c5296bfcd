/**
 * GET /v1/models/{name}/browser and GET /v1/models/{name}/browser/{file}: a model packed for
 * the playground's in-browser sampler (core/browser): its facts, tokenizer, scheduler config
 * and sampling defaults as JSON, and each component's self-contained ONNX file (weights
 * inlined) for onnxruntime-web. Behind the API key like every /v1 route.
 *
 * @module
 */
import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppDeps, AppEnv } from "../env.ts";
import { ApiError, binary, json, route, withErrors } from "../errors.ts";

const NameParams = z.object({
  name: z.string().min(1).max(200).openapi({ example: "dd-world-tiny" }),
});

const FileParams = NameParams.extend({
  file: z.string().regex(/^[a-z_]+\.onnx$/, "expected a file named in the model's components")
    .openapi({ example: "unet.onnx" }),
});

const Input = z.object({
  dtype: z.string(),
  shape: z.array(z.union([z.number(), z.string(), z.null()])).nullable(),
});

const Component = z.object({
  file: z.string(),
  bytes: z.number().int(),
  inputs: z.record(z.string(), Input),
});

const BrowserModel = z.object({
  name: z.string(),
  revision: z.string(),
  info: z.object({
    maxLength: z.number().int(),
    hiddenSize: z.number().int(),
    latentChannels: z.number().int(),
    latentSize: z.number().int(),
    vaeScale: z.number().int(),
    scalingFactor: z.number(),
  }),
  components: z.object({
    textEncoder: Component.optional(),
    unet: Component.optional(),
    vaeDecoder: Component.optional(),
  }),
  tokenizer: z.object({
    vocab: z.record(z.string(), z.number()),
    merges: z.string(),
    config: z.record(z.string(), z.unknown()),
    specialTokens: z.record(z.string(), z.unknown()).optional(),
  }),
  schedulerConfig: z.record(z.string(), z.unknown()),
  defaults: z.object({
    guidance: z.number(),
    guidanceRescale: z.number(),
    scheduler: z.string(),
  }),
}).openapi("BrowserModel");

/** The offered model of that name, or a 404. */
async function offered(deps: AppDeps, name: string): Promise<string> {
  const models = await deps.models();
  if (!models.some((m) => m.name === name)) {
    throw new ApiError(404, "not_found", `no model named ${name} on this server`);
  }
  return name;
}

/** Mounts both routes on `app`. */
export function modelsBrowser(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const describe = route("get", "/v1/models/{name}/browser", "A model for in-browser sampling", {
    description: "What the playground's in-browser sampler needs besides the ONNX files: the " +
      "model's sizes, tokenizer files, scheduler config, sampling defaults, and each " +
      "component's file (under this path) with the inputs it takes. The field names are " +
      "core's (camelCase), as the page's bundle reads them unchanged.",
    request: { params: NameParams },
    responses: withErrors({ 200: json("The model's description", BrowserModel) }),
  });
  app.openapi(describe, async (c) => {
    const name = await offered(deps, c.req.valid("param").name);
    const { manifest } = await deps.engine.browserModel(name);
    return c.json(manifest as z.infer<typeof BrowserModel>, 200, { "Cache-Control": "no-cache" });
  });

  const file = route("get", "/v1/models/{name}/browser/{file}", "A model component's ONNX file", {
    description: "A self-contained ONNX file (weights inlined) for onnxruntime-web, as named " +
      "in `components` of GET /v1/models/{name}/browser.",
    request: { params: FileParams },
    responses: withErrors({
      200: binary("The ONNX model"),
    }),
  });
  app.openapi(file, async (c) => {
    const params = c.req.valid("param");
    const name = await offered(deps, params.name);
    const bytes = (await deps.engine.browserModel(name)).files.get(params.file);
    if (!bytes) throw new ApiError(404, "not_found", `model ${name} has no file ${params.file}`);
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
      "Content-Type": "application/octet-stream",
      "Cache-Control": "no-cache",
    });
  });
}
