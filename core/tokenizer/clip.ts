/**
 * CLIP's byte-level BPE tokenizer, as openai/CLIP's `simple_tokenizer.py` and the Hugging Face
 * `CLIPTokenizer` folders of Stable Diffusion checkpoints (`tokenizer/`) define it:
 *
 * 1. `ftfy.fix_text`; 2. Python's `html.unescape` twice, strip; 3. whitespace runs to one
 * space, strip; 4. lowercase; 5. split with CLIP's pattern (`'s`, `'t`, ... first, letter
 * runs, single digits, runs of other characters); 6. each piece's UTF-8 bytes through
 * GPT-2's byte table, `</w>` on its last character, BPE by merge rank, vocabulary ids.
 *
 * Fidelity: all 30 entries of tests/fixtures/clip-tokenizer/golden.json (made with
 * `simple_tokenizer.py`, ftfy 6.3.1) give the reference ids, padded forms included; no
 * entry differs. Step 1 is a port of ftfy 6.3.1's `fix_text` with default options (no npm
 * package ports it with a track record), in `_ftfy.ts`: HTML entities, mojibake repair
 * through its ten single-byte encodings, curly quotes, full-width forms, ligatures, control
 * characters, NFC. Checked against Python ftfy 6.3.1 and `simple_tokenizer.py` on some 7,300
 * further strings (mojibake in each code page, entities, controls, random text): same text
 * after step 1 for all. The one known source of difference: Unicode tables (letters,
 * digits, case, NFC) are the JavaScript engine's, newer than the reference's (Python 3.11,
 * Unicode 14; `regex` 2022.10.31, Unicode 15), so characters assigned since then can split
 * or lowercase differently.
 * `do_lower_case` in tokenizer_config.json is ignored: CLIP always lowercases.
 *
 * @module
 */
import { z } from "zod";
import { Bpe, bytesToUnicode } from "./_bpe.ts";
import { fixText } from "./_ftfy.ts";
import { htmlUnescape } from "./_html.ts";
import { PY_SPACE } from "./_ftfy_detect.ts";
import { parse, parseJson, parseMerges, readText } from "./_files.ts";
import { TokenizerError } from "./tokenizer_error.ts";

const AddedToken = z.union([z.string(), z.looseObject({ content: z.string() })]);

/**
 * tokenizer_config.json: the fields read (others are kept and ignored).
 *
 * @example
 * ```ts
 * import { TokenizerConfigSchema } from "./clip.ts";
 * const cfg = TokenizerConfigSchema.parse({ model_max_length: 77, pad_token: "!" });
 * console.assert(cfg.pad_token === "!");
 * console.assert(!TokenizerConfigSchema.safeParse({ model_max_length: "77" }).success);
 * ```
 */
export const TokenizerConfigSchema = z.looseObject({
  model_max_length: z.number().int().min(2).max(65_536).optional(),
  bos_token: AddedToken.optional(),
  eos_token: AddedToken.optional(),
  unk_token: AddedToken.optional(),
  pad_token: AddedToken.optional(),
  do_lower_case: z.boolean().optional(),
});
/** tokenizer_config.json as written (special tokens as strings or `AddedToken` objects). */
export type TokenizerConfig = z.input<typeof TokenizerConfigSchema>;

/**
 * special_tokens_map.json: consulted for tokens tokenizer_config.json does not name.
 *
 * @example
 * ```ts
 * import { SpecialTokensMapSchema } from "./clip.ts";
 * const map = SpecialTokensMapSchema.parse({ pad_token: { content: "<|endoftext|>" } });
 * console.assert(typeof map.pad_token === "object");
 * ```
 */
export const SpecialTokensMapSchema = z.looseObject({
  bos_token: AddedToken.optional(),
  eos_token: AddedToken.optional(),
  unk_token: AddedToken.optional(),
  pad_token: AddedToken.optional(),
});
/** special_tokens_map.json as written. */
export type SpecialTokensMap = z.input<typeof SpecialTokensMapSchema>;

const VocabSchema = z.record(z.string(), z.number().int().nonnegative());

/** The contents of a tokenizer folder, parsed (JSON) or as text (merges.txt). */
export interface ClipTokenizerFiles {
  /** vocab.json: token string to id. */
  vocab: Record<string, number>;
  /** merges.txt as text: an optional `#version` line, then one `left right` pair a line. */
  merges: string;
  /** tokenizer_config.json. */
  config: TokenizerConfig;
  /** special_tokens_map.json, if the folder has one. */
  specialTokens?: SpecialTokensMap;
}

const DEFAULTS = {
  bos_token: "<|startoftext|>",
  eos_token: "<|endoftext|>",
  unk_token: "<|endoftext|>",
  pad_token: "<|endoftext|>",
} as const;
/** Default model_max_length (CLIP's context). */
const DEFAULT_MAX_LENGTH = 77;

/** Whitespace for CLIP's `regex`-module `\s` (Python `re`'s set less U+001C-U+001F). */
const REGEX_SPACE =
  "\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const WS_RUN_RE = new RegExp(`[${REGEX_SPACE}]+`, "gu");
const STRIP_RE = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, "gu");
const SPLIT_RE = new RegExp(
  "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|\\p{L}+|\\p{N}" +
    `|[^${REGEX_SPACE}\\p{L}\\p{N}]+`,
  "giu",
);

/** Steps 1-4 of the module doc: the text that is split and BPE-encoded. */
function cleanText(text: string): string {
  const basic = htmlUnescape(htmlUnescape(fixText(text))).replace(STRIP_RE, "");
  return basic.replace(WS_RUN_RE, " ").replace(STRIP_RE, "").toLowerCase();
}

/** The four files, as read (JSON parsed, not yet validated). */
interface RawFiles {
  vocab: unknown;
  merges: string;
  config: unknown;
  special: unknown;
}
/** How errors name each file: paths for fromDir, bare names for fromFiles. */
type FileNames = Record<keyof RawFiles, string>;

/** id → token; refuses an id given twice and a vocabulary lacking a byte symbol. */
function invertVocab(
  vocab: ReadonlyMap<string, number>,
  byteChars: readonly string[],
  file: string,
): Map<number, string> {
  const tokens = new Map<number, string>();
  for (const [token, id] of vocab) {
    const other = tokens.get(id);
    if (other !== undefined) {
      const msg = `${file}: id ${id} is given to both ${JSON.stringify(other)} and ` +
        JSON.stringify(token);
      throw new TokenizerError("invalid_file", file, msg);
    }
    tokens.set(id, token);
  }
  for (const symbol of byteChars.flatMap((c) => [c, c + "</w>"])) {
    if (vocab.has(symbol)) continue;
    const msg = `${file}: byte symbol ${JSON.stringify(symbol)} is missing`;
    throw new TokenizerError("invalid_file", file, msg);
  }
  return tokens;
}

/** A special token's id: from tokenizer_config.json, else special_tokens_map.json, else CLIP's. */
function specialId(
  key: keyof typeof DEFAULTS,
  vocab: ReadonlyMap<string, number>,
  config: z.output<typeof TokenizerConfigSchema>,
  special: z.output<typeof SpecialTokensMapSchema>,
  names: FileNames,
): number {
  const raw = config[key] ?? special[key] ?? DEFAULTS[key];
  const token = typeof raw === "string" ? raw : raw.content;
  const id = vocab.get(token);
  if (id !== undefined) return id;
  const from = config[key] !== undefined
    ? names.config
    : special[key] !== undefined
    ? names.special
    : "the default";
  const msg = `${names.vocab} lacks the special token ${
    JSON.stringify(token)
  } (${key}, from ${from})`;
  throw new TokenizerError("invalid_file", names.vocab, msg);
}

/**
 * CLIP's BPE tokenizer (Stable Diffusion 1.x/2.x text encoders).
 *
 * @example
 * ```ts
 * import { ClipTokenizer } from "./clip.ts";
 * const tok = await ClipTokenizer.fromDir("tests/fixtures/clip-tokenizer");
 * console.assert(tok.encode("a photo of a cat").join() === "320,1125,539,320,2368");
 * const ids = tok.encodePadded("a photo of a cat"); // [49406, 320, ..., 49407, 0, 0, ...]
 * console.assert(ids.length === 77 && ids[0] === tok.bosId && ids[6] === tok.eosId);
 * console.assert(tok.decode(ids.slice(0, 7)) === "a photo of a cat");
 * ```
 */
export class ClipTokenizer {
  /** Id of the start token (`<|startoftext|>`, 49406). */
  readonly bosId: number;
  /** Id of the end token (`<|endoftext|>`, 49407). */
  readonly eosId: number;
  /** Id padding {@linkcode encodePadded}: 0 (`"!"`) in SD 2.x folders, 49407 in SD 1.x. */
  readonly padId: number;
  /** Padded length (model_max_length, 77 for CLIP). */
  readonly maxLength: number;
  readonly #vocab: ReadonlyMap<string, number>;
  readonly #tokens: ReadonlyMap<number, string>;
  readonly #bpe: Bpe;
  readonly #byteChars: readonly string[] = bytesToUnicode();
  readonly #byteOf: ReadonlyMap<string, number>;
  readonly #skipOnDecode: ReadonlySet<number>;

  private constructor(files: RawFiles, names: FileNames) {
    const vocab = new Map(Object.entries(parse(VocabSchema, files.vocab, names.vocab)));
    const config = parse(TokenizerConfigSchema, files.config, names.config);
    const special = parse(SpecialTokensMapSchema, files.special ?? {}, names.special);
    this.#tokens = invertVocab(vocab, this.#byteChars, names.vocab);
    const idOf = (key: keyof typeof DEFAULTS) => specialId(key, vocab, config, special, names);
    this.bosId = idOf("bos_token");
    this.eosId = idOf("eos_token");
    this.padId = idOf("pad_token");
    this.#skipOnDecode = new Set([this.bosId, this.eosId, idOf("unk_token")]);
    this.maxLength = config.model_max_length ?? DEFAULT_MAX_LENGTH;
    const merges = parseMerges(files.merges, names.merges);
    merges.forEach(([a, b], i) => {
      if (vocab.has(a + b)) return;
      const msg = `${names.merges}: the result of merge ${i + 1} (${a} ${b}) is not in ` +
        names.vocab;
      throw new TokenizerError("invalid_file", names.merges, msg);
    });
    // simple_tokenizer.py returns these two unmerged wherever they occur in the text.
    const fixed = ["<|startoftext|>", "<|endoftext|>"].filter((t) => vocab.has(t));
    this.#bpe = new Bpe(merges, fixed);
    this.#vocab = vocab;
    this.#byteOf = new Map(this.#byteChars.map((c, b) => [c, b]));
  }

  /**
   * Loads a Hugging Face tokenizer folder.
   * @param dir Folder holding vocab.json, merges.txt, tokenizer_config.json and optionally
   *   special_tokens_map.json.
   * @returns The tokenizer.
   * @throws TokenizerError naming the file when one is missing, malformed or inconsistent.
   */
  static async fromDir(dir: string): Promise<ClipTokenizer> {
    // Plain "/" rather than node:path, so this module also bundles for the browser
    // (core/browser); Deno reads "/"-joined paths on every platform.
    const path = (name: string) => `${dir.replace(/[\\/]+$/, "")}/${name}`;
    const names: FileNames = {
      vocab: path("vocab.json"),
      merges: path("merges.txt"),
      config: path("tokenizer_config.json"),
      special: path("special_tokens_map.json"),
    };
    const [vocab, merges, config, special] = await Promise.all([
      readText(names.vocab, true),
      readText(names.merges, true),
      readText(names.config, true),
      readText(names.special, false),
    ]);
    return new ClipTokenizer({
      vocab: parseJson(vocab!, names.vocab),
      merges: merges!,
      config: parseJson(config!, names.config),
      special: special === undefined ? undefined : parseJson(special, names.special),
    }, names);
  }

  /**
   * Builds a tokenizer from file contents already read (validated as {@linkcode fromDir} does).
   * @param files vocab.json and tokenizer_config.json parsed, merges.txt as text.
   * @returns The tokenizer.
   * @throws TokenizerError naming the file whose content is wrong.
   */
  static fromFiles(files: ClipTokenizerFiles): ClipTokenizer {
    const { vocab, merges, config, specialTokens: special } = files;
    return new ClipTokenizer({ vocab, merges, config, special }, {
      vocab: "vocab.json",
      merges: "merges.txt",
      config: "tokenizer_config.json",
      special: "special_tokens_map.json",
    });
  }

  /** Number of vocabulary entries (49408 for CLIP). */
  get vocabSize(): number {
    return this.#vocab.size;
  }

  /**
   * BPE ids of `text`, without start or end token and untruncated
   * (`SimpleTokenizer().encode`).
   * @param text Any string; cleaned as the module doc describes.
   * @returns The ids.
   */
  encode(text: string): number[] {
    const ids: number[] = [];
    const utf8 = new TextEncoder();
    for (const [piece] of cleanText(text).matchAll(SPLIT_RE)) {
      let word = "";
      for (const b of utf8.encode(piece)) word += this.#byteChars[b];
      for (const symbol of this.#bpe.encodeWord(word)) {
        const id = this.#vocab.get(symbol);
        if (id === undefined) throw new Error(`BPE symbol ${JSON.stringify(symbol)} not in vocab`);
        ids.push(id);
      }
    }
    return ids;
  }

  /**
   * What SD pipelines feed the text encoder: `[BOS] ids[:maxLength-2] [EOS]`, padded with
   * {@linkcode padId} to `maxLength` (truncation keeps EOS).
   * @param text Any string.
   * @param maxLength Output length, at least 2; default {@linkcode maxLength}.
   * @returns Exactly `maxLength` ids.
   * @throws RangeError when `maxLength` is not an integer of at least 2.
   */
  encodePadded(text: string, maxLength: number = this.maxLength): number[] {
    if (!Number.isInteger(maxLength) || maxLength < 2) {
      throw new RangeError(`maxLength must be an integer >= 2, got ${maxLength}`);
    }
    const body = this.encode(text).slice(0, maxLength - 2);
    const ids = [this.bosId, ...body, this.eosId];
    while (ids.length < maxLength) ids.push(this.padId);
    return ids;
  }

  /**
   * @param id A vocabulary id.
   * @returns Its token string (`</w>` marks a word end), or undefined if there is none.
   */
  idToToken(id: number): string | undefined {
    return this.#tokens.get(id);
  }

  /**
   * @param token A token string as in vocab.json.
   * @returns Its id, or undefined if the vocabulary lacks it.
   */
  tokenToId(token: string): number | undefined {
    return this.#vocab.get(token);
  }

  /**
   * Best-effort text for ids: tokens joined, `</w>` as a space, bytes back to UTF-8 (invalid
   * sequences as U+FFFD), start/end tokens skipped, padding after the last end token
   * dropped, outer spaces trimmed. Cleaning is not undone (the text stays lowercased).
   * @param ids Vocabulary ids.
   * @returns The text.
   * @throws RangeError for an id not in the vocabulary.
   */
  decode(ids: readonly number[]): string {
    const bytes: number[] = [];
    const utf8 = new TextEncoder();
    let end = ids.length;
    const lastEos = ids.lastIndexOf(this.eosId);
    if (lastEos >= 0 && ids.slice(lastEos + 1).every((id) => id === this.padId)) end = lastEos;
    for (const id of ids.slice(0, end)) {
      if (this.#skipOnDecode.has(id)) continue;
      const token = this.#tokens.get(id);
      if (token === undefined) throw new RangeError(`id ${id} is not in the vocabulary`);
      const wordEnd = token.endsWith("</w>");
      for (const c of wordEnd ? token.slice(0, -4) : token) {
        const b = this.#byteOf.get(c);
        if (b !== undefined) bytes.push(b);
        else bytes.push(...utf8.encode(c));
      }
      if (wordEnd) bytes.push(0x20);
    }
    const text = new TextDecoder("utf-8", { ignoreBOM: true }).decode(Uint8Array.from(bytes));
    return text.replace(/^ +| +$/g, "");
  }
}
