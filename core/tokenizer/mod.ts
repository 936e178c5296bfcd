/**
 * Text tokenizers: CLIP's byte-level BPE ({@linkcode ClipTokenizer}), loaded from a
 * Hugging Face tokenizer folder, giving the ids openai/CLIP's `simple_tokenizer.py` gives.
 *
 * @example
 * ```ts
 * import { ClipTokenizer } from "./mod.ts";
 * const tok = await ClipTokenizer.fromDir("tests/fixtures/clip-tokenizer");
 * const ids = tok.encodePadded("a photo of an astronaut riding a horse on mars");
 * console.assert(ids.length === tok.maxLength && ids[0] === tok.bosId);
 * ```
 *
 * @module
 */
export * from "./clip.ts";
export * from "./tokenizer_error.ts";
