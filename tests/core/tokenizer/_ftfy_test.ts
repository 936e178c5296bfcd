/**
 * fixText (the ftfy port) and the HTML unescaping, against outputs of Python ftfy 6.3.1 and
 * Python 3.11's html.unescape for the same inputs.
 */
import assert from "node:assert/strict";
import { fixText } from "../../../core/tokenizer/_ftfy.ts";
import { isBad } from "../../../core/tokenizer/_ftfy_detect.ts";
import { ftfyUnescapeHtml, htmlUnescape } from "../../../core/tokenizer/_html.ts";

/** [what, input, ftfy.fix_text(input)] */
const CASES: [string, string, string][] = [
  ["uncurl quotes", "don\u2019t \u201cstop\u201d", 'don\'t "stop"'],
  [
    "full-width forms",
    "\uff26\uff55\uff4c\uff4c \uff11\uff12\u3000\uff76\uff80",
    "Full 12 \u30ab\u30bf",
  ],
  ["ligatures", "\ufb01ne \ufb02our \u01c4 \u0149", "fine flour D\u017d 'n"],
  ["NFC", "Cafe\u0301 \u1100\u1161\u11a8", "Caf\u00e9 \uac01"],
  [
    "UTF-8 read as Windows-1252",
    "sch\u00c3\u00b6n \u00e2\u20ac\u0153quoted\u00e2\u20ac\u009d",
    'sch\u00f6n "quoted"',
  ],
  ["UTF-8 read as Latin-1", "caf\u00c3\u00a9 cr\u00c3\u00a8me", "caf\u00e9 cr\u00e8me"],
  [
    "double mojibake",
    "doesn\u00c3\u00a2\u00e2\u201a\u00ac\u00e2\u201e\u00a2t sch\u00c3\u00b6n",
    "doesn't sch\u00f6n",
  ],
  [
    "UTF-8 read as Windows-1251",
    "\u0420\u045f\u0421\u0402\u0420\u0451\u0420\u0406\u0420\u00b5\u0421\u201a",
    "\u041f\u0440\u0438\u0432\u0435\u0442",
  ],
  ["UTF-8 read as MacRoman", "caf\u221a\u00a9", "caf\u00e9"],
  ["UTF-8 read as CP437", "caf\u251c\u2310", "caf\u00e9"],
  ["no-break space turned into a space", "voil\u00c3 le travail", "voil\u00e0 le travail"],
  ["lossy Windows-1252", "\u00e2\u20ac\u0153 like this \u00e2\u20ac\ufffd", '" like this \ufffd'],
  [
    "mojibake beside text that cannot be re-encoded",
    "sch\u00c3\u00b6n \ud83d\ude00 sch\u00f6n",
    "sch\u00f6n \ud83d\ude00 sch\u00f6n",
  ],
  [
    "legitimate accents stay",
    "Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e, na\u00efve \u00c0 la carte",
    "Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e, na\u00efve \u00c0 la carte",
  ],
  ["C1 controls as Windows-1252", "\u0093hi\u0094 \u0085 \u0081", '"hi" \u2026 \u0081'],
  [
    "HTML entities",
    "fish &amp; chips &EACUTE; &#x27;x&#39; &notit; &hearts;",
    "fish & chips \u00c9 'x' &notit; \u2665",
  ],
  ["no HTML decoding once a line has <", "<b>&amp;</b>\n&amp;", "<b>&amp;</b>\n&amp;"],
  ["terminal escapes", "\u001b[36;44mblue\u001b[0m", "blue"],
  [
    "control characters",
    "a\u0000b\u0007c\u000bd\ufeffe\u200bf\u206ag\ufffch\tj\fk",
    "abcde\u200bfgh\tj\fk",
  ],
  ["line breaks", "a\r\nb\rc\u2028d\u2029e\u0085f", "a\nb\nc\nd\ne\u2026f"],
  ["lone surrogates", "x\ud83dy \ud83d\ude00", "x\ufffdy \ud83d\ude00"],
  [
    "plain text unchanged",
    "a photo of an astronaut riding a horse on mars",
    "a photo of an astronaut riding a horse on mars",
  ],
  [
    "Greek and Cyrillic stay",
    "\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac \u041f\u0440\u0438\u0432\u0435\u0442",
    "\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac \u041f\u0440\u0438\u0432\u0435\u0442",
  ],
];

for (const [what, input, expected] of CASES) {
  Deno.test(`fixText() matches ftfy: ${what}`, () => {
    assert.equal(fixText(input), expected);
  });
}

Deno.test("fixText() is idempotent on its output", () => {
  for (const [, input] of CASES) {
    const once = fixText(input);
    assert.equal(fixText(once), once);
  }
});

Deno.test("isBad() flags mojibake and passes intended accents", () => {
  assert.equal(isBad("sch\u00c3\u00b6n"), true);
  assert.equal(isBad("doesn\u00e2\u20ac\u2122t"), true);
  assert.equal(isBad("Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e"), false);
  assert.equal(isBad("plain ASCII"), false);
});

Deno.test("htmlUnescape() matches Python's html.unescape", () => {
  const cases: [string, string][] = [
    ["&amp;amp;", "&amp;"],
    ["&nbspx", "\u00a0x"],
    ["&notit;", "\u00acit;"],
    ["&notin;", "\u2209"],
    ["&#39;&#x27;&#X27", "'''"],
    ["&#0;&#128;&#x81;", "\ufffd\u20ac\x81"],
    ["&#xD800;&#1114112;", "\ufffd\ufffd"],
    ["&#1;&#xFFFF;|", "|"],
    ["&#128512;", "\u{1F600}"],
    ["&unknown; & &;", "&unknown; & &;"],
  ];
  for (const [input, expected] of cases) assert.equal(htmlUnescape(input), expected, input);
});

Deno.test("ftfyUnescapeHtml() decodes only terminated references, and all-caps names", () => {
  assert.equal(
    ftfyUnescapeHtml("&amp; &amp &notit; &EACUTE; &NTILDE; &#39; &#39"),
    "& &amp &notit; \u00c9 \u00d1 ' &#39",
  );
});
