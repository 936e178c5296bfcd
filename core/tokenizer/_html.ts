/**
 * HTML character references, decoded the two ways the CLIP reference tokenizer does:
 * Python's `html.unescape` (3.11) and ftfy's stricter `unescape_html`. The entity table
 * (`_html5_entities.json`) is Python's `html.entities.html5`, 2231 names, those with and
 * without the final `;`, as the WHATWG HTML standard lists them.
 *
 * @module
 */
import table from "./_html5_entities.json" with { type: "json" };

const HTML5: ReadonlyMap<string, string> = new Map(Object.entries(table as Record<string, string>));

/** Windows-1252 meanings of bytes 0x80-0x9F (bytes it leaves undefined map to themselves). */
export const CP1252_C1 = "\u20ac\x81\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160" +
  "\u2039\u0152\x8d\u017d\x8f\x90\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122" +
  "\u0161\u203a\u0153\x9d\u017e\u0178";

/** Code points that Python's html.unescape drops from numeric references. */
function isInvalidCodePoint(n: number): boolean {
  return (n >= 0x1 && n <= 0x8) || n === 0xb || (n >= 0xe && n <= 0x1f) ||
    (n >= 0x7f && n <= 0x9f) || (n >= 0xfdd0 && n <= 0xfdef) || (n & 0xfffe) === 0xfffe;
}

function numericRef(body: string): string {
  const hex = body[1] === "x" || body[1] === "X";
  const digits = body.slice(hex ? 2 : 1).replace(/;$/, "");
  const n = hex ? parseInt(digits, 16) : parseInt(digits, 10);
  if (n === 0) return "\ufffd";
  if (n === 0x0d) return "\r";
  if (n >= 0x80 && n <= 0x9f) return CP1252_C1[n - 0x80]!;
  if ((n >= 0xd800 && n <= 0xdfff) || n > 0x10ffff) return "\ufffd";
  if (isInvalidCodePoint(n)) return "";
  return String.fromCodePoint(n);
}

const CHARREF_RE = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu;

/**
 * Python's `html.unescape`: numeric references, named references with or without `;`
 * (the longest known name wins, as the standard says), anything else left as it is.
 */
export function htmlUnescape(text: string): string {
  if (!text.includes("&")) return text;
  return text.replace(CHARREF_RE, (whole, body: string) => {
    if (body[0] === "#") return numericRef(body);
    const named = HTML5.get(body);
    if (named !== undefined) return named;
    for (let x = body.length - 1; x > 1; x--) {
      const prefix = HTML5.get(body.slice(0, x));
      if (prefix !== undefined) return prefix + body.slice(x);
    }
    return whole;
  });
}

/** ftfy's entity table: names ending in `;`, plus upper-cased forms of lower-case names. */
function buildFtfyEntities(): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, char] of HTML5) {
    if (!name.endsWith(";")) continue;
    out.set("&" + name, char);
    if (name === name.toLowerCase()) {
      const upper = "&" + name.toUpperCase();
      if (htmlUnescape(upper) === upper) out.set(upper, char.toUpperCase());
    }
  }
  return out;
}

let ftfyEntities: Map<string, string> | undefined;
const FTFY_ENTITY_RE = /&#?[0-9A-Za-z]{1,24};/g;

/**
 * ftfy's `unescape_html`: only references that end in `;`, plus all-caps names such as
 * `&EACUTE;`; a numeric reference is decoded only when its `;` is consumed.
 */
export function ftfyUnescapeHtml(text: string): string {
  if (!text.includes("&")) return text;
  ftfyEntities ??= buildFtfyEntities();
  const entities = ftfyEntities;
  return text.replace(FTFY_ENTITY_RE, (ref) => {
    const named = entities.get(ref);
    if (named !== undefined) return named;
    if (ref.startsWith("&#")) {
      const decoded = htmlUnescape(ref);
      return decoded.includes(";") ? ref : decoded;
    }
    return ref;
  });
}
