/**
 * A learned distribution's prompts as textual-inversion embeddings that AUTOMATIC1111's
 * stable-diffusion-webui and ComfyUI load from their `embeddings/` folders: one safetensors
 * file per prompt k, holding exactly one tensor `emb_params` [M, d] (float32, or float16 on
 * request): prompt k's M learned vectors in the text encoder's input (token-embedding) space.
 *
 * Why this layout loads in both (checked against their sources):
 * - AUTOMATIC1111 `modules/textual_inversion/textual_inversion.py`, `create_embedding_from_data`:
 *   a file that is a dict of tensors without `string_to_param` or `clip_g`/`clip_l` is read by
 *   the "diffuser concepts" branch, which asserts exactly one key and takes its tensor
 *   (a 1-D one is unsqueezed to [1, d]), converted to float32; the trigger word is the file
 *   name; a width other than the loaded model's is skipped.
 * - ComfyUI `comfy/sd1_clip.py`, `load_embed`: `safetensors.torch.load_file`, then the
 *   `clip_l` key if present, else the first tensor; `embedding:NAME` in a prompt inserts its
 *   rows as tokens.
 * The `.pt` form (`{"string_to_param": {"*": tensor}}`, a pickle) is not written: safetensors
 * carries no code.
 *
 * What is lost: one file carries one prompt. The distribution (mu, sigma over the K prompts'
 * text features, the sampler, gamma) has no form in those tools; a user gets K fixed prompts
 * to pick from, not a fresh draw per image.
 *
 * @example
 * ```ts ignore
 * const files = textualInversionFiles(manifest, tensors, { prompts: [0, 3], dtype: "float16" });
 * for (const f of files) await Deno.writeFile(`embeddings/${f.fileName}`, f.bytes);
 * ```
 *
 * @module
 */
import { type DistributionTensors, type Manifest, writeSafetensors } from "../artifacts/mod.ts";

/** The one tensor name of a textual-inversion safetensors file. */
export const TI_TENSOR = "emb_params";

/** Names usable as a trigger word and a file name in both tools. */
export const TI_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Options of {@linkcode textualInversionFiles}. */
export interface TextualInversionOptions {
  /** Which prompts (0-based k), in the order given; default all K. */
  prompts?: readonly number[];
  /** Stored dtype (default float32). */
  dtype?: "float32" | "float16";
  /** Base of the trigger word and file name (default the distribution id). */
  name?: string;
}

/** One exported embedding. */
export interface TextualInversionFile {
  /** The prompt's index in the distribution. */
  k: number;
  /** The trigger word: `<name>-k<kk>` (A1111: as written; ComfyUI: `embedding:<name>-k<kk>`). */
  name: string;
  /** `<name>-k<kk>.safetensors`. */
  fileName: string;
  bytes: Uint8Array;
}

/**
 * Checks a prompt selection against K.
 *
 * @returns The selection, or every prompt when `prompts` is absent.
 * @throws {RangeError} For an empty selection, an index outside 0..K-1 or a repeated one.
 */
export function selectPrompts(K: number, prompts?: readonly number[]): number[] {
  if (prompts === undefined) return Array.from({ length: K }, (_, k) => k);
  if (prompts.length === 0) throw new RangeError("no prompt selected");
  const seen = new Set<number>();
  for (const k of prompts) {
    if (!Number.isInteger(k) || k < 0 || k >= K) {
      throw new RangeError(
        `prompt ${k} is out of range: this distribution has K = ${K} (0..${K - 1})`,
      );
    }
    if (seen.has(k)) throw new RangeError(`prompt ${k} is selected twice`);
    seen.add(k);
  }
  return [...prompts];
}

/**
 * The selected prompts of a distribution as textual-inversion safetensors files.
 *
 * @param manifest The distribution's manifest (id, model, K, M, d).
 * @param tensors Its tensors (`ctx` [K, M, d] is used).
 * @param opts Selection, dtype, name.
 * @returns One file per selected prompt.
 * @throws {RangeError} For a bad selection or name.
 */
export function textualInversionFiles(
  manifest: Manifest,
  tensors: DistributionTensors,
  opts: TextualInversionOptions = {},
): TextualInversionFile[] {
  const [K, M, d] = tensors.ctx.shape;
  const name = opts.name ?? manifest.id;
  if (!TI_NAME.test(name)) {
    throw new RangeError(`name ${JSON.stringify(name)}: expected 1 to 64 of A-Z a-z 0-9 . _ -`);
  }
  const width = String(K - 1).length;
  return selectPrompts(K, opts.prompts).map((k) => {
    const token = `${name}-k${String(k).padStart(width, "0")}`;
    const data = tensors.ctx.data.slice(k * M * d, (k + 1) * M * d);
    const bytes = writeSafetensors(
      { [TI_TENSOR]: { data, shape: [M, d], dtype: opts.dtype === "float16" ? "F16" : "F32" } },
      {
        format: "textual_inversion",
        source: "dreamdistribution",
        distribution: manifest.id,
        prompt: String(k),
        K: String(K),
        model: manifest.model.name,
        revision: manifest.model.revision,
      },
    );
    return { k, name: token, fileName: `${token}.safetensors`, bytes };
  });
}
