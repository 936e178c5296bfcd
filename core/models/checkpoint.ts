/**
 * Loading a diffusers Stable Diffusion checkpoint folder (the layout
 * `StableDiffusionPipeline.save_pretrained` writes): text_encoder/, unet/ and vae/, each
 * with config.json and safetensors weights (single file or sharded with an
 * `.index.json`). Graphs are built from the configs; their initializers point into the
 * safetensors files in place, with locations relative to the checkpoint root, which is
 * every model's `baseDir`.
 *
 * @module
 */
import { join, relative, resolve } from "node:path";
import type { Tensor } from "../onnx/mod.ts";
import type { WeightSource } from "./blocks/context.ts";
import { buildClipTextEncoder, buildClipTextEncoderEmbeds, TOKEN_EMBEDDING } from "./clip_text.ts";
import { parseClipTextConfig, parseUNetConfig, parseVaeConfig } from "./config.ts";
import { externalTensor, readSafetensorsIndex, type SafetensorsIndex } from "./safetensors.ts";
import type { SdGraphs } from "./types.ts";
import { buildUNet } from "./unet.ts";
import { buildVaeDecoder, buildVaeEncoder, vaeScale } from "./vae.ts";

/** Options of {@link loadDiffusersCheckpoint}. */
export interface CheckpointOptions {
  /** Weight variant, e.g. "fp16" for `diffusion_pytorch_model.fp16.safetensors`. */
  variant?: string;
  /** Latent side the UNet and VAE graphs are built for (default: unet sample_size). */
  latentSize?: number;
}

/** The pipeline classes the loader builds, by model_index.json component. */
const CLASSES: Readonly<Record<string, string>> = {
  text_encoder: "CLIPTextModel",
  unet: "UNet2DConditionModel",
  vae: "AutoencoderKL",
};

/** `name` with a variant before its last extension (diffusers/transformers `_add_variant`). */
function withVariant(name: string, variant?: string): string {
  if (!variant) return name;
  const parts = name.split(".");
  return [...parts.slice(0, -1), variant, parts[parts.length - 1]].join(".");
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * Reads a JSON file.
 * @throws Error naming the file when it is missing or not valid JSON.
 * @example
 * ```ts ignore
 * const index = await readJsonFile("/models/sd2/model_index.json");
 * ```
 */
export async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`file not found: ${path}`);
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: invalid JSON (${(e as Error).message})`);
  }
}

/**
 * The tensors of one component as a {@link WeightSource}: `file` in `root/component`, or
 * the shards its `.index.json` lists. Locations are relative to `root`.
 * @throws Error naming the file when neither exists, or when a shard is missing or truncated.
 * @example
 * ```ts ignore
 * const w = await openSafetensors("/models/sd2", "unet", "diffusion_pytorch_model.safetensors");
 * ```
 */
export async function openSafetensors(
  root: string,
  component: string,
  file: string,
  variant?: string,
): Promise<WeightSource> {
  const name = withVariant(file, variant);
  const single = join(root, component, name);
  const indexPath = join(root, component, withVariant(`${file}.index.json`, variant));
  const shards = new Map<string, SafetensorsIndex>();
  const where = new Map<string, SafetensorsIndex>();
  let label: string;
  if (await exists(single)) {
    const index = await readSafetensorsIndex(single);
    shards.set(single, index);
    for (const t of index.tensors.keys()) where.set(t, index);
    label = relative(root, single);
  } else if (await exists(indexPath)) {
    const json = await readJsonFile(indexPath);
    const map = (json as { weight_map?: unknown }).weight_map;
    if (map === null || typeof map !== "object") {
      throw new Error(`${indexPath}: no weight_map object`);
    }
    for (const [tensor, shard] of Object.entries(map as Record<string, unknown>)) {
      if (typeof shard !== "string") throw new Error(`${indexPath}: bad shard for '${tensor}'`);
      const path = join(root, component, shard);
      let index = shards.get(path);
      if (!index) shards.set(path, index = await readSafetensorsIndex(path));
      if (!index.tensors.has(tensor)) throw new Error(`${path}: missing tensor '${tensor}'`);
      where.set(tensor, index);
    }
    label = relative(root, indexPath);
  } else {
    throw new Error(`safetensors file not found: ${single} (nor ${indexPath})`);
  }
  return {
    label,
    tensor(t: string): Tensor | undefined {
      const index = where.get(t);
      return index ? externalTensor(index, t, t, relative(root, index.path)) : undefined;
    },
  };
}

async function readConfig<T>(root: string, component: string, parse: (raw: unknown) => T) {
  const path = join(root, component, "config.json");
  if (!(await exists(path))) throw new Error(`config file not found: ${path}`);
  const raw = await readJsonFile(path);
  try {
    return parse(raw);
  } catch (e) {
    throw new Error(`${(e as Error).message} (${path})`);
  }
}

async function checkModelIndex(root: string): Promise<void> {
  const path = join(root, "model_index.json");
  if (!(await exists(path))) return;
  const index = await readJsonFile(path) as Record<string, unknown>;
  for (const [component, cls] of Object.entries(CLASSES)) {
    const entry = index[component];
    const got = Array.isArray(entry) ? entry[1] : undefined;
    // A null vae entry marks a pixel-space model.
    if (component === "vae" && got === null) continue;
    if (got !== undefined && got !== cls) {
      throw new Error(
        `${path}: unsupported ${component} class ${JSON.stringify(got)} (want ${cls})`,
      );
    }
  }
}

/**
 * Builds every graph of a diffusers SD 1.x/2.x checkpoint folder.
 * @param dir the folder holding model_index.json (optional), text_encoder/, unet/, vae/
 * @throws Error naming the file for a missing or truncated config/safetensors file, the
 * field for an unsupported or inconsistent config value, the tensor for a missing one.
 * @example
 * ```ts ignore
 * const sd = await loadDiffusersCheckpoint("tests/fixtures/diffusers-tiny-sd2");
 * const unet = await Session.create(sd.unet);
 * ```
 */
/**
 * A pixel-space checkpoint has no VAE: model_index.json says `"vae": [null, null]` (or has
 * no vae entry) and there is no vae/ folder.
 */
async function isPixelSpace(root: string): Promise<boolean> {
  try {
    await Deno.stat(join(root, "vae"));
    return false;
  } catch {
    // no vae/ folder
  }
  try {
    const index = JSON.parse(await Deno.readTextFile(join(root, "model_index.json")));
    const vae = index.vae;
    return vae === undefined || (Array.isArray(vae) && vae[0] === null);
  } catch {
    return false;
  }
}

export async function loadDiffusersCheckpoint(
  dir: string,
  o: CheckpointOptions = {},
): Promise<SdGraphs> {
  const root = resolve(dir);
  await checkModelIndex(root);
  const text = await readConfig(root, "text_encoder", parseClipTextConfig);
  const unet = await readConfig(root, "unet", parseUNetConfig);
  const pixelSpace = await isPixelSpace(root);
  const vae = pixelSpace ? null : await readConfig(root, "vae", parseVaeConfig);
  const cross = Array.isArray(unet.cross_attention_dim)
    ? unet.cross_attention_dim[0]
    : unet.cross_attention_dim;
  if (cross !== text.hidden_size) {
    throw new Error(
      `unet config: cross_attention_dim ${cross} does not match text_encoder hidden_size ` +
        `${text.hidden_size}`,
    );
  }
  if (vae && unet.in_channels !== vae.latent_channels) {
    throw new Error(
      `unet config: in_channels ${unet.in_channels} does not match vae latent_channels ` +
        `${vae.latent_channels}`,
    );
  }
  const textW = await openSafetensors(root, "text_encoder", "model.safetensors", o.variant);
  const unetW = await openSafetensors(
    root,
    "unet",
    "diffusion_pytorch_model.safetensors",
    o.variant,
  );
  const vaeW = vae
    ? await openSafetensors(root, "vae", "diffusion_pytorch_model.safetensors", o.variant)
    : null;
  if (pixelSpace && unet.in_channels !== 3) {
    throw new Error(
      `unet config: a pixel-space model (no vae) needs in_channels 3, got ${unet.in_channels}`,
    );
  }
  const tokenEmbedding = textW.tensor(TOKEN_EMBEDDING);
  if (!tokenEmbedding) throw new Error(`${textW.label}: missing tensor '${TOKEN_EMBEDDING}'`);
  const size = o.latentSize ?? unet.sample_size;
  const latent = { height: size, width: size };
  const seqLength = text.max_position_embeddings;
  return {
    info: {
      maxLength: seqLength,
      hiddenSize: text.hidden_size,
      latentChannels: unet.in_channels,
      latentSize: size,
      vaeScale: vae ? vaeScale(vae) : 1,
      scalingFactor: vae ? vae.scaling_factor ?? 0.18215 : 1,
    },
    textEncoder: buildClipTextEncoder(text, textW, root),
    textEncoderEmbeds: buildClipTextEncoderEmbeds(text, textW, root),
    tokenEmbedding,
    tokenEmbeddingBaseDir: root,
    unet: buildUNet(unet, unetW, root, { ...latent, seqLength }),
    vaeDecoder: vae && vaeW ? buildVaeDecoder(vae, vaeW, root, latent) : null,
    vaeEncoder: vae && vaeW ? buildVaeEncoder(vae, vaeW, root, latent) : null,
  };
}
