/**
 * Which files of a model repository a models.lock entry pins, by format: the files core
 * reads, not the whole repo (no fp16 variants, no .ckpt, no safety checker).
 *
 * @module
 */
import type { ModelFormat } from "./lock.ts";
import { ModelError } from "./model_error.ts";

/** diffusers: configs the loader reads. */
const DIFFUSERS_REQUIRED = [
  "model_index.json",
  "scheduler/scheduler_config.json",
  "text_encoder/config.json",
  "unet/config.json",
];
/** diffusers: weights, single file or sharded (`<w>.index.json` + `<stem>-0000i-of-0000n`). */
const DIFFUSERS_WEIGHTS = [
  "text_encoder/model.safetensors",
  "unet/diffusion_pytorch_model.safetensors",
  "vae/diffusion_pytorch_model.safetensors",
];
/** Pinned when the repo has them (the pipeline's tokenizer; tiny test checkpoints lack it). */
const TOKENIZER = [
  "tokenizer/vocab.json",
  "tokenizer/merges.txt",
  "tokenizer/tokenizer_config.json",
  "tokenizer/special_tokens_map.json",
];
/** onnx: every file in these folders (model.onnx, external data, config.json). */
const ONNX_FOLDERS = ["text_encoder", "unet", "vae_decoder", "vae_encoder"];

/**
 * The files of `available` (a repo's or folder's file list) that a `format` entry pins.
 *
 * @param format The model format.
 * @param available Every file path of the repo or folder.
 * @param where The repo or folder, for messages.
 * @returns The selected paths, sorted.
 * @throws {ModelError} `invalid` naming the first required file that is missing.
 */
export function selectModelFiles(
  format: ModelFormat,
  available: Iterable<string>,
  where: string,
): string[] {
  const have = new Set(available);
  const out = new Set<string>();
  const need = (p: string) => {
    if (!have.has(p)) {
      throw new ModelError("invalid", `${where}: no ${p} (required for the ${format} format)`);
    }
    out.add(p);
  };
  if (format === "diffusers") {
    DIFFUSERS_REQUIRED.forEach(need);
    // A pixel-space checkpoint (model_index.json "vae": [null, null], such as dd-world-tiny)
    // has no vae/ folder; the loader refuses a latent-space one without it.
    const pixelSpace = !have.has("vae/config.json");
    if (!pixelSpace) out.add("vae/config.json");
    for (const w of DIFFUSERS_WEIGHTS) {
      if (pixelSpace && w.startsWith("vae/")) continue;
      if (have.has(w)) {
        out.add(w);
        continue;
      }
      need(`${w}.index.json`);
      const folder = w.slice(0, w.lastIndexOf("/") + 1);
      const stem = w.slice(folder.length, -".safetensors".length);
      const shard = new RegExp(`^${stem}-\\d{5}-of-\\d{5}\\.safetensors$`);
      for (const p of have) {
        if (p.startsWith(folder) && shard.test(p.slice(folder.length))) out.add(p);
      }
    }
  } else {
    for (const c of ONNX_FOLDERS) need(`${c}/model.onnx`);
    for (const p of have) {
      if (ONNX_FOLDERS.some((c) => p.startsWith(`${c}/`))) out.add(p);
    }
    ["model_index.json", "scheduler/scheduler_config.json"].forEach((p) =>
      have.has(p) && out.add(p)
    );
  }
  for (const p of TOKENIZER) if (have.has(p)) out.add(p);
  return [...out].sort();
}
