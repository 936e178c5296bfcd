/**
 * The one error type thrown for tokenizer files that cannot be used.
 *
 * @module
 */
import { CodedError } from "../errors.ts";

/**
 * Why tokenizer files were refused:
 * - `missing_file`: a required file (vocab.json, merges.txt, tokenizer_config.json) is absent;
 * - `malformed_json`: a JSON file does not parse;
 * - `invalid_file`: a file parses but its content is wrong (schema, missing special tokens,
 *   a merges.txt line that is not a pair, ...).
 */
export type TokenizerErrorCode = "missing_file" | "malformed_json" | "invalid_file";

/**
 * Thrown by {@linkcode ClipTokenizer.fromDir} and {@linkcode ClipTokenizer.fromFiles}; the
 * message names the file. Programming errors (a bad `maxLength`, an unknown id) are
 * `RangeError`s instead.
 *
 * @example
 * ```ts
 * import { TokenizerError } from "./tokenizer_error.ts";
 * const e = new TokenizerError("missing_file", "vocab.json", "vocab.json: file not found");
 * console.assert(e.code === "missing_file" && e.file === "vocab.json");
 * ```
 */
export class TokenizerError extends CodedError<TokenizerErrorCode> {
  /**
   * @param code Why the files were refused.
   * @param file The file at fault (a path for `fromDir`, a file name for `fromFiles`).
   * @param message A human-readable explanation naming the file.
   * @param options Standard error options (`cause`).
   */
  constructor(
    code: TokenizerErrorCode,
    readonly file: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(code, message, options);
  }
}
