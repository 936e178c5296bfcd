/**
 * Reading a tokenizer folder's files, with errors that name the file.
 *
 * @module
 */
import type { z } from "zod";
import { TokenizerError } from "./tokenizer_error.ts";

/** A file's text; undefined for an absent optional file. */
export async function readText(path: string, required: boolean): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      if (!required) return undefined;
      throw new TokenizerError("missing_file", path, `${path}: file not found`, { cause: e });
    }
    throw new TokenizerError("invalid_file", path, `${path}: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

/** Parsed JSON, or a TokenizerError naming the file. */
export function parseJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const msg = `${path}: malformed JSON (${(e as Error).message})`;
    throw new TokenizerError("malformed_json", path, msg, { cause: e });
  }
}

function issues(error: z.ZodError): string {
  const shown = error.issues.slice(0, 5).map((i) =>
    `${i.path.length ? i.path.join(".") : "(top level)"}: ${i.message}`
  );
  const more = error.issues.length - shown.length;
  return shown.join("; ") + (more > 0 ? `; and ${more} more` : "");
}

/** `value` checked against `schema`, or a TokenizerError listing the first issues. */
export function parse<T extends z.ZodType>(schema: T, value: unknown, file: string): z.output<T> {
  const r = schema.safeParse(value);
  if (!r.success) throw new TokenizerError("invalid_file", file, `${file}: ${issues(r.error)}`);
  return r.data;
}

/** merges.txt: the pairs in rank order (the `#version` line and blank lines skipped). */
export function parseMerges(text: string, file: string): [string, string][] {
  const lines = text.split("\n");
  const merges: [string, string][] = [];
  lines.forEach((raw, i) => {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line === "" || (i === 0 && line.startsWith("#version"))) return;
    const parts = line.split(" ");
    if (parts.length !== 2 || !parts[0] || !parts[1]) {
      const msg = `${file}: line ${i + 1} is not a "left right" pair: ${JSON.stringify(line)}`;
      throw new TokenizerError("invalid_file", file, msg);
    }
    merges.push([parts[0], parts[1]]);
  });
  return merges;
}
