/**
 * The part of ftfy 6.3.1's `fix_text` (default options) that the CLIP tokenizer relies on,
 * ported from Python (ftfy is Apache-2.0, by Robyn Speer). Done as in ftfy, per line:
 * HTML entities (only while no `<` has been seen), mojibake repair, C1 controls as
 * Windows-1252, Latin ligatures, full/half-width forms, curly quotes, line breaks,
 * surrogates, terminal escapes, control characters, NFC; repeated until nothing changes.
 *
 * Mojibake repair is ftfy's `fix_encoding`: when `is_bad` flags the text, re-encode it in
 * each of ftfy's ten single-byte encodings in turn and read the bytes as UTF-8 (with
 * `restore_byte_a0`, `replace_lossy_sequences` and the CESU-8 / Java-null variants), else
 * repair bad-looking runs inside it (`decode_inconsistent_utf8`), else read C1 controls as
 * Windows-1252. Options other than the defaults, and `explain`, are not ported.
 *
 * @module
 */
import { isBad, UTF8_DETECTOR_RE } from "./_ftfy_detect.ts";
import { type Charmap, CHARMAPS } from "./_ftfy_charmaps.ts";
import { CP1252_C1, ftfyUnescapeHtml } from "./_html.ts";

const LIGATURES: Readonly<Record<string, string>> = {
  "\u0132": "IJ",
  "\u0133": "ij",
  "\u0149": "\u02bcn",
  "\u01f1": "DZ",
  "\u01f2": "Dz",
  "\u01f3": "dz",
  "\u01c4": "D\u017d",
  "\u01c5": "D\u017e",
  "\u01c6": "d\u017e",
  "\u01c7": "LJ",
  "\u01c8": "Lj",
  "\u01c9": "lj",
  "\u01ca": "NJ",
  "\u01cb": "Nj",
  "\u01cc": "nj",
  "\ufb00": "ff",
  "\ufb01": "fi",
  "\ufb02": "fl",
  "\ufb03": "ffi",
  "\ufb04": "ffl",
  "\ufb05": "\u017ft",
  "\ufb06": "st",
};
const LIGATURE_RE = /[\u0132\u0133\u0149\u01c4-\u01cc\u01f1-\u01f3\ufb00-\ufb06]/g;

let widthMap: Map<string, string> | undefined;
/** U+FF01-U+FFEF to their NFKC forms (where different), and U+3000 to a space. */
function getWidthMap(): Map<string, string> {
  if (widthMap) return widthMap;
  widthMap = new Map([["\u3000", " "]]);
  for (let i = 0xff01; i < 0xfff0; i++) {
    const c = String.fromCharCode(i);
    const alt = c.normalize("NFKC");
    if (alt !== c) widthMap.set(c, alt);
  }
  return widthMap;
}

const C1_RE = /[\x80-\x9f]/g;
// deno-lint-ignore no-control-regex
const ANSI_RE = /\x1b\[[\p{Nd};]*[a-zA-Z]/gu;
// deno-lint-ignore no-control-regex
const CONTROL_RE = /[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc]/g;

const fixC1 = (t: string) => t.replace(C1_RE, (c) => CP1252_C1[c.charCodeAt(0) - 0x80]!);

/** The fixers ftfy applies after mojibake repair, in its order, then NFC. */
function fixCharacters(text: string): string {
  const width = getWidthMap();
  let t = fixC1(text);
  t = t.replace(LIGATURE_RE, (c) => LIGATURES[c]!);
  t = t.replace(/[\u3000\uff01-\uffef]/g, (c) => width.get(c) ?? c);
  t = t.replace(/[\u02bc\u2018-\u201b]/g, "'").replace(/[\u201c-\u201f]/g, '"');
  t = t.replace(/\r\n?|[\u2028\u2029\x85]/g, "\n");
  t = t.toWellFormed();
  t = t.replace(ANSI_RE, "").replace(CONTROL_RE, "");
  return t.normalize("NFC");
}

// ---- mojibake repair (binary strings: one char per byte) ----

const encoders = new Map<Charmap, Map<string, string>>();

/** `text` in a single-byte encoding (one char per byte), or undefined if it has no bytes. */
function encodeCharmap(text: string, map: Charmap): string | undefined {
  let table = encoders.get(map);
  if (!table) {
    table = new Map(Array.from(map.high, (c, i) => [c, String.fromCharCode(0x80 + i)]));
    if (map.sloppy) table.set("\ufffd", "\x1a");
    encoders.set(map, table);
  }
  let out = "";
  for (const c of text) {
    if (c < "\x80" && !(map.sloppy && c === "\x1a")) out += c;
    else {
      const b = table.get(c);
      if (b === undefined) return undefined;
      out += b;
    }
  }
  return out;
}

const ALTERED_UTF8 =
  "[\\xc2\\xc3\\xc5\\xce\\xd0\\xd9] |[\\xe2\\xe3] [\\x80-\\x84\\x86-\\x9f\\xa1-\\xbf]" +
  "|[\\xe0-\\xe3][\\x80-\\x84\\x86-\\x9f\\xa1-\\xbf] |\\xf0 [\\x80-\\xbf][\\x80-\\xbf]" +
  "|\\xf0[\\x80-\\xbf] [\\x80-\\xbf]|\\xf0[\\x80-\\xbf][\\x80-\\xbf] ";
const ALTERED_UTF8_RE = new RegExp(ALTERED_UTF8, "g");
const HAS_ALTERED_UTF8_RE = new RegExp(ALTERED_UTF8);

/** Puts back byte A0 where a program turned it into a space inside a UTF-8 sequence. */
function restoreByteA0(bytes: string): string {
  const b = bytes.replace(/\xc3 (?! |quele|quela|quilo|s )/g, "\xc3\xa0 ");
  return b.replace(ALTERED_UTF8_RE, (m) => m.replaceAll(" ", "\xa0"));
}

const LOSSY_UTF8_RE = new RegExp(
  "[\\xc2-\\xdf]\\x1a|[\\xc2-\\xc3][?]" +
    "|\\xed[\\xa0-\\xaf][\\x1a?]\\xed[\\xb0-\\xbf][\\x1a?\\x80-\\xbf]" +
    "|\\xed[\\xa0-\\xaf][\\x1a?\\x80-\\xbf]\\xed[\\xb0-\\xbf][\\x1a?]" +
    "|[\\xe0-\\xef][\\x1a?][\\x1a\\x80-\\xbf]|[\\xe0-\\xef][\\x1a\\x80-\\xbf][\\x1a?]" +
    "|[\\xf0-\\xf4][\\x1a?][\\x1a\\x80-\\xbf][\\x1a\\x80-\\xbf]" +
    "|[\\xf0-\\xf4][\\x1a\\x80-\\xbf][\\x1a?][\\x1a\\x80-\\xbf]" +
    "|[\\xf0-\\xf4][\\x1a\\x80-\\xbf][\\x1a\\x80-\\xbf][\\x1a?]|\\x1a",
  "g",
);

const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** ftfy's "utf-8-variants": strict UTF-8 plus CESU-8 surrogate pairs and Java's C0 80. */
function decodeUtf8(bytes: string, variants: boolean): string | undefined {
  let b = bytes;
  if (variants) {
    b = b.replace(/\xc0\x80/g, "\x00").replace(
      /\xed([\xa0-\xaf])([\x80-\xbf])\xed([\xb0-\xbf])([\x80-\xbf])/g,
      (_, b1: string, b2: string, b4: string, b5: string) => {
        const cp = ((b1.charCodeAt(0) & 0x0f) << 16) + ((b2.charCodeAt(0) & 0x3f) << 10) +
          ((b4.charCodeAt(0) & 0x0f) << 6) + (b5.charCodeAt(0) & 0x3f) + 0x10000;
        return String.fromCharCode(...new TextEncoder().encode(String.fromCodePoint(cp)));
      },
    );
  }
  const arr = Uint8Array.from(b, (c) => c.charCodeAt(0));
  try {
    return STRICT_UTF8.decode(arr);
  } catch {
    return undefined;
  }
}

/** One step of ftfy's `fix_encoding`. */
function fixEncodingStep(text: string): string {
  // deno-lint-ignore no-control-regex
  if (/^[\x00-\x7f]*$/.test(text) || !isBad(text)) return text;
  for (const map of CHARMAPS) {
    let bytes = encodeCharmap(text, map);
    if (bytes === undefined) continue;
    if (map.name !== "macroman" && HAS_ALTERED_UTF8_RE.test(bytes)) bytes = restoreByteA0(bytes);
    if (map.sloppy) bytes = bytes.replace(LOSSY_UTF8_RE, "\xef\xbf\xbd");
    const fixed = decodeUtf8(bytes, /[\xc0\xed]/.test(bytes));
    if (fixed !== undefined) return fixed;
  }
  // decode_inconsistent_utf8: repair bad-looking runs inside text that failed as a whole.
  const fixed = text.replace(
    UTF8_DETECTOR_RE,
    (run) => run.length < text.length && isBad(run) ? fixEncoding(run) : run,
  );
  if (fixed !== text) return fixed;
  // ftfy: Latin-1 text with C1 controls is read as Windows-1252; else fix_c1_controls.
  // Both give fixC1's result.
  return fixC1(text);
}

function fixEncoding(text: string): string {
  for (;;) {
    const fixed = fixEncodingStep(text);
    if (fixed === text) return text;
    text = fixed;
  }
}

function fixSegment(segment: string, unescapeHtml: boolean): string {
  let text = segment;
  for (;;) {
    const orig = text;
    if (unescapeHtml) text = ftfyUnescapeHtml(text);
    text = fixCharacters(fixEncoding(text));
    if (text === orig) return text;
  }
}

/** ftfy's limit on one segment (it splits longer lines). */
const MAX_DECODE_LENGTH = 1_000_000;

/**
 * `ftfy.fix_text(text)` with default options, within the limits the module doc states.
 * Lines are fixed separately; HTML entities are decoded until a line holding `<` is seen.
 */
export function fixText(text: string): string {
  let unescapeHtml = true;
  let out = "";
  for (let pos = 0; pos < text.length;) {
    let end = text.indexOf("\n", pos) + 1;
    if (end === 0) end = text.length;
    if (end - pos > MAX_DECODE_LENGTH) end = pos + MAX_DECODE_LENGTH;
    const segment = text.slice(pos, end);
    if (segment.includes("<")) unescapeHtml = false;
    out += fixSegment(segment, unescapeHtml);
    pos = end;
  }
  return out;
}
