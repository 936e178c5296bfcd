/**
 * What the in-browser sampler (core/browser) fetches from the server: a model as
 * self-contained ONNX files (weights inlined, as onnxruntime-web takes them) with the facts,
 * tokenizer files, scheduler config and sampling defaults beside them; and a distribution's
 * parameters (mu, sigma, and its K features when stored) as safetensors.
 *
 * @module
 */
import { join } from "node:path";
import { type DistributionTensors, type Manifest, writeSafetensors } from "../artifacts/mod.ts";
import type { LoadedModel, ModelInfo } from "../models/mod.ts";
import { encodeModel, graphInputs, type InputSpec, type Model, tensorBytes } from "../onnx/mod.ts";
import type { ClipTokenizerFiles } from "../tokenizer/mod.ts";
import { EngineError } from "./engine_error.ts";

/** The components the browser runs (sampling needs no token table and no VAE encoder). */
export const BROWSER_COMPONENTS = ["textEncoder", "unet", "vaeDecoder"] as const;

/**
 * The largest model packed for a browser, all components together: one ONNX file must stay
 * under protobuf's 2 GB, and a page that downloads more than this is no playground (Stable
 * Diffusion's fp32 UNet alone is 3.4 GB; dd-world-tiny is 7 MB).
 */
export const BROWSER_MODEL_MAX_BYTES = 512 * 1024 * 1024;

/** A component the browser runs. */
export type BrowserComponent = typeof BROWSER_COMPONENTS[number];

/** The model's description, as JSON. */
export interface BrowserModelManifest {
  name: string;
  revision: string;
  info: ModelInfo;
  /** Each component's ONNX file (under the same route) and the inputs it must be fed. */
  components: Partial<
    Record<BrowserComponent, { file: string; bytes: number; inputs: Record<string, InputSpec> }>
  >;
  tokenizer: ClipTokenizerFiles;
  /** scheduler_config.json as stored. */
  schedulerConfig: unknown;
  /** Sampling defaults when a request names none. */
  defaults: { guidance: number; guidanceRescale: number; scheduler: string };
}

/** A model for the browser: its description and its ONNX files by name. */
export interface BrowserModel {
  manifest: BrowserModelManifest;
  files: Map<string, Uint8Array>;
}

const FILE: Record<BrowserComponent, string> = {
  textEncoder: "text_encoder.onnx",
  unet: "unet.onnx",
  vaeDecoder: "vae_decoder.onnx",
};

/** The model file with every initializer's external data read into it. */
async function selfContained(model: Model): Promise<Uint8Array> {
  const base = model.baseDir ?? Deno.cwd();
  const initializers = await Promise.all(
    model.graph.initializers.map(async (t) =>
      t.external
        ? { name: t.name, dtype: t.dtype, dims: t.dims, data: await tensorBytes(t, base) }
        : t
    ),
  );
  return encodeModel({ ...model, graph: { ...model.graph, initializers } });
}

async function readJson(path: string): Promise<unknown> {
  return JSON.parse(await Deno.readTextFile(path));
}

/**
 * Packs a loaded model for the browser.
 *
 * @param model The loaded model (its graphs; no session is created).
 * @returns The description and the files.
 * @throws {EngineError} `model_too_large` over {@linkcode BROWSER_MODEL_MAX_BYTES} of weights.
 * @example
 * ```ts ignore
 * const { manifest, files } = await browserModel(await engine.model());
 * ```
 */
export async function browserModel(model: LoadedModel): Promise<BrowserModel> {
  const graphs = model.runtime.graphs;
  let weights = 0;
  for (const c of BROWSER_COMPONENTS) {
    for (const t of graphs[c]?.graph.initializers ?? []) {
      weights += t.external?.length ?? t.data?.length ?? 0;
    }
  }
  if (weights > BROWSER_MODEL_MAX_BYTES) {
    throw new EngineError(
      "model_too_large",
      `${model.name} has ${Math.round(weights / 2 ** 20)} MiB of weights, more than the ` +
        `${BROWSER_MODEL_MAX_BYTES / 2 ** 20} MiB a page can sample with; sample on the server`,
    );
  }
  const files = new Map<string, Uint8Array>();
  const components: BrowserModelManifest["components"] = {};
  for (const c of BROWSER_COMPONENTS) {
    const g = graphs[c];
    if (!g) continue;
    const bytes = await selfContained(g);
    files.set(FILE[c], bytes);
    components[c] = {
      file: FILE[c],
      bytes: bytes.length,
      inputs: Object.fromEntries(graphInputs(g)),
    };
  }
  const tok = join(model.dir, "tokenizer");
  const special = await readJson(join(tok, "special_tokens_map.json")).catch(() => undefined);
  const tokenizer: ClipTokenizerFiles = {
    vocab: await readJson(join(tok, "vocab.json")) as ClipTokenizerFiles["vocab"],
    merges: await Deno.readTextFile(join(tok, "merges.txt")),
    config: await readJson(join(tok, "tokenizer_config.json")) as ClipTokenizerFiles["config"],
    ...(special ? { specialTokens: special as ClipTokenizerFiles["specialTokens"] } : {}),
  };
  return {
    manifest: {
      name: model.name,
      revision: model.revision,
      info: graphs.info,
      components,
      tokenizer,
      schedulerConfig: await readJson(join(model.dir, "scheduler", "scheduler_config.json")),
      defaults: {
        guidance: model.defaultGuidance,
        guidanceRescale: model.defaultGuidanceRescale,
        scheduler: model.defaultScheduler,
      },
    },
    files,
  };
}

/**
 * A distribution's parameters as safetensors: mu [L, d], sigma [L, d] and, when stored, the
 * K features [K, L, d]; `__metadata__` names the distribution, its model and K.
 *
 * @param d The stored distribution.
 * @returns The file.
 * @example
 * ```ts ignore
 * const bytes = distributionParameters(await engine.get(id));
 * ```
 */
export function distributionParameters(
  d: { manifest: Manifest; tensors: DistributionTensors },
): Uint8Array {
  const { manifest: m, tensors: t } = d;
  return writeSafetensors({
    mu: t.mu,
    sigma: t.sigma,
    ...(t.features ? { features: t.features } : {}),
  }, {
    id: m.id,
    model: m.model.name,
    revision: m.model.revision,
    K: String(m.K),
  });
}
