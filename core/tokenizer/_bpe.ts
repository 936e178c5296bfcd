/**
 * Byte-level BPE as in openai/CLIP's `simple_tokenizer.py`: GPT-2's byte-to-character table
 * and the merge loop, with `</w>` marking the end of a word.
 *
 * @module
 */

/**
 * GPT-2's `bytes_to_unicode()`: printable bytes (`!`..`~`, `¡`..`¬`, `®`..`ÿ`) map to
 * themselves, the other 68 to U+0100 and up, in byte order. Index = byte.
 */
export function bytesToUnicode(): string[] {
  const table: string[] = new Array(256);
  const printable = (b: number) =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = String.fromCharCode(printable(b) ? b : 256 + n++);
  }
  return table;
}

/** Word-level results kept per BPE instance; the cache is cleared when it grows past this. */
const CACHE_LIMIT = 100_000;

/** The merge loop over ranked pairs, with a per-word cache. */
export class Bpe {
  readonly #ranks: Map<string, number>;
  readonly #cache = new Map<string, readonly string[]>();
  readonly #fixed: ReadonlyMap<string, readonly string[]>;

  /**
   * @param merges Pairs in rank order (a later duplicate overrides, as a Python dict would).
   * @param fixed Words returned as one symbol, unmerged (CLIP's special tokens).
   */
  constructor(merges: readonly (readonly [string, string])[], fixed: readonly string[] = []) {
    this.#ranks = new Map(merges.map(([a, b], i) => [`${a} ${b}`, i]));
    this.#fixed = new Map(fixed.map((w) => [w, [w]]));
  }

  /** Symbols for one word already mapped through {@linkcode bytesToUnicode}. */
  encodeWord(word: string): readonly string[] {
    const fixed = this.#fixed.get(word) ?? this.#cache.get(word);
    if (fixed) return fixed;
    const result = this.#merge(word);
    if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
    this.#cache.set(word, result);
    return result;
  }

  #merge(token: string): string[] {
    const chars = Array.from(token);
    if (chars.length === 0) return [];
    let word = [...chars.slice(0, -1), chars[chars.length - 1] + "</w>"];
    while (word.length > 1) {
      let best = Infinity;
      let first = "";
      let second = "";
      for (let i = 0; i < word.length - 1; i++) {
        const rank = this.#ranks.get(`${word[i]} ${word[i + 1]}`);
        if (rank !== undefined && rank < best) {
          [best, first, second] = [rank, word[i]!, word[i + 1]!];
        }
      }
      if (best === Infinity) break;
      const next: string[] = [];
      for (let i = 0; i < word.length;) {
        if (word[i] === first && i < word.length - 1 && word[i + 1] === second) {
          next.push(first + second);
          i += 2;
        } else {
          next.push(word[i]!);
          i += 1;
        }
      }
      word = next;
    }
    return word;
  }
}
