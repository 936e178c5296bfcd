/**
 * Prompt templates around the learned vectors: `[BOS] prefix V suffix [EOS] pad...` of
 * length L (DESIGN §4). A template string marks the learned tokens with `{}`, e.g.
 * "a watercolor of {} at night".
 *
 * @module
 */
import type { SdGraphs } from "../models/mod.ts";
import { DType, tensorBytes } from "../onnx/mod.ts";
import { DistributionInputError, type DistributionInputKind } from "./errors.ts";

/** What the template needs from a tokenizer. */
export interface TemplateTokenizer {
  /** BPE ids without BOS/EOS. */
  encode(text: string): number[];
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
}

/** Token ids before and after the M learned vectors (they add up to L - M). */
export interface TemplateIds {
  prefix: string;
  suffix: string;
  before: number[];
  after: number[];
}

/**
 * Splits "a photo of {} at night" into prefix and suffix.
 * @param kind What the template is part of, for the error: a sample request (default) or
 *   training options.
 * @throws DistributionInputError unless the template has exactly one `{}`.
 */
export function splitTemplate(
  template: string,
  kind: DistributionInputKind = "request",
): { prefix: string; suffix: string } {
  const parts = template.split("{}");
  if (parts.length !== 2) {
    throw new DistributionInputError(
      kind,
      `template must contain exactly one {} for the learned prompt, got ${
        JSON.stringify(template)
      }`,
    );
  }
  return { prefix: parts[0]!.trim(), suffix: parts[1]!.trim() };
}

/**
 * The ids around M learned vectors in a sequence of length L.
 * @param kind What the template is part of, for the error: a sample request (default) or
 *   training options.
 * @throws DistributionInputError without exactly one `{}` or when prefix + M + suffix do
 *   not fit.
 */
export function templateIds(
  tok: TemplateTokenizer,
  template: string,
  M: number,
  L: number,
  kind: DistributionInputKind = "request",
): TemplateIds {
  const { prefix, suffix } = splitTemplate(template, kind);
  const pre = prefix ? tok.encode(prefix) : [];
  const suf = suffix ? tok.encode(suffix) : [];
  const used = 1 + pre.length + M + suf.length + 1;
  if (used > L) {
    throw new DistributionInputError(
      kind,
      `template too long: ${used} tokens with ${M} learned vectors, limit ${L}`,
    );
  }
  return {
    prefix,
    suffix,
    before: [tok.bosId, ...pre],
    after: [...suf, tok.eosId, ...new Array(L - used).fill(tok.padId)],
  };
}

/** The token-embedding table [vocab, d] as float32. */
export async function readTokenTable(graphs: SdGraphs): Promise<Float32Array> {
  const t = graphs.tokenEmbedding;
  const bytes = (await tensorBytes(t, graphs.tokenEmbeddingBaseDir)).slice();
  if (t.dtype === DType.FLOAT) return new Float32Array(bytes.buffer);
  if (t.dtype === DType.FLOAT16) return Float32Array.from(new Float16Array(bytes.buffer));
  throw new Error(`token embedding table has unsupported dtype ${DType[t.dtype]}`);
}

/** Rows of the table for `ids`, [ids.length, d]. */
export function embedRows(table: Float32Array, d: number, ids: number[]): Float32Array {
  const out = new Float32Array(ids.length * d);
  const vocab = table.length / d;
  ids.forEach((id, i) => {
    if (!(id >= 0 && id < vocab)) {
      throw new Error(`token id ${id} outside the vocabulary (${vocab})`);
    }
    out.set(table.subarray(id * d, (id + 1) * d), i * d);
  });
  return out;
}

/** inputs_embeds [K, L, d] for K learned prompts ctx [K, M, d] inside a template. */
export function assembleEmbeds(
  table: Float32Array,
  d: number,
  ids: TemplateIds,
  ctx: Float32Array,
  K: number,
  M: number,
): Float32Array {
  const before = embedRows(table, d, ids.before);
  const after = embedRows(table, d, ids.after);
  const L = ids.before.length + M + ids.after.length;
  const out = new Float32Array(K * L * d);
  for (let k = 0; k < K; k++) {
    const base = k * L * d;
    out.set(before, base);
    out.set(ctx.subarray(k * M * d, (k + 1) * M * d), base + before.length);
    out.set(after, base + before.length + M * d);
  }
  return out;
}
