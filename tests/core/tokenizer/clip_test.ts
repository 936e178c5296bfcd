/**
 * ClipTokenizer against tests/fixtures/clip-tokenizer/golden.json (ids from openai/CLIP's
 * simple_tokenizer.py with ftfy 6.3.1): every entry's ids, and the padded SD 2.x / SD 1.x
 * forms where given. No entry is a documented difference: all must match exactly.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  ClipTokenizer,
  type ClipTokenizerFiles,
  TokenizerError,
} from "../../../core/tokenizer/mod.ts";

const DIR = new URL("../../fixtures/clip-tokenizer/", import.meta.url).pathname;
const FILES = ["vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"];

interface GoldenEntry {
  text: string;
  ids: number[];
  sd2_input_ids?: number[];
  sd1_input_ids?: number[];
}

const golden: GoldenEntry[] = JSON.parse(await Deno.readTextFile(join(DIR, "golden.json")));
const files: ClipTokenizerFiles = {
  vocab: JSON.parse(await Deno.readTextFile(join(DIR, "vocab.json"))),
  merges: await Deno.readTextFile(join(DIR, "merges.txt")),
  config: JSON.parse(await Deno.readTextFile(join(DIR, "tokenizer_config.json"))),
  specialTokens: JSON.parse(await Deno.readTextFile(join(DIR, "special_tokens_map.json"))),
};
const sd2 = await ClipTokenizer.fromDir(DIR);
/** The SD 1.x folder: the same files, pad token `<|endoftext|>`. */
const sd1 = ClipTokenizer.fromFiles({
  ...files,
  config: { ...files.config, pad_token: "<|endoftext|>" },
  specialTokens: { ...files.specialTokens, pad_token: "<|endoftext|>" },
});

const label = (text: string) => JSON.stringify(text.length > 40 ? text.slice(0, 40) + "…" : text);

Deno.test("golden.json has 30 entries, 5 with padded forms", () => {
  assert.equal(golden.length, 30);
  assert.equal(golden.filter((e) => e.sd2_input_ids).length, 5);
  assert.equal(golden.filter((e) => e.sd1_input_ids).length, 5);
});

golden.forEach((e, i) => {
  Deno.test(`encode() golden #${i} ${label(e.text)}`, () => {
    assert.deepEqual(sd2.encode(e.text), e.ids);
  });
  if (e.sd2_input_ids) {
    const expected = e.sd2_input_ids;
    Deno.test(`encodePadded() golden #${i} SD 2.x (pad "!")`, () => {
      assert.deepEqual(sd2.encodePadded(e.text), expected);
    });
  }
  if (e.sd1_input_ids) {
    const expected = e.sd1_input_ids;
    Deno.test(`encodePadded() golden #${i} SD 1.x (pad <|endoftext|>)`, () => {
      assert.deepEqual(sd1.encodePadded(e.text), expected);
    });
  }
});

Deno.test("fromDir() reads the special ids and length from the config", () => {
  assert.deepEqual([sd2.bosId, sd2.eosId, sd2.padId, sd2.maxLength], [49406, 49407, 0, 77]);
  assert.deepEqual([sd1.bosId, sd1.eosId, sd1.padId, sd1.maxLength], [49406, 49407, 49407, 77]);
  assert.equal(sd2.vocabSize, 49408);
});

Deno.test("encodePadded() of the empty string is [BOS, EOS, pad...]", () => {
  assert.deepEqual(sd2.encodePadded(""), [49406, 49407, ...new Array(75).fill(0)]);
  assert.deepEqual(sd1.encodePadded(""), [49406, ...new Array(76).fill(49407)]);
});

Deno.test("encodePadded() truncation keeps EOS", () => {
  const text = "one two three four five six seven eight nine ten";
  const ids = sd2.encode(text);
  assert.equal(ids.length, 10);
  assert.deepEqual(sd2.encodePadded(text, 6), [49406, ...ids.slice(0, 4), 49407]);
  const long = sd2.encodePadded("cat ".repeat(200));
  assert.equal(long.length, 77);
  assert.equal(long[76], 49407);
  assert.deepEqual(sd2.encodePadded(text, 12), [49406, ...ids, 49407]);
});

Deno.test("encodePadded() refuses a length below 2", () => {
  assert.throws(() => sd2.encodePadded("x", 1), RangeError);
  assert.throws(() => sd2.encodePadded("x", 2.5), RangeError);
  assert.deepEqual(sd2.encodePadded("x", 2), [49406, 49407]);
});

Deno.test("encode() keeps special tokens written in the text whole", () => {
  assert.deepEqual(sd2.encode("<|startoftext|>a<|ENDOFTEXT|>"), [49406, 320, 49407]);
});

Deno.test("encode() gives the same ids from the word cache", () => {
  const text = "antidisestablishmentarianism, antidisestablishmentarianism";
  assert.deepEqual(sd2.encode(text), sd2.encode(text));
  assert.deepEqual(sd2.encode(text).slice(0, 6), [3120, 4262, 7726, 12658, 1585, 44351]);
});

Deno.test("idToToken() and tokenToId() follow vocab.json", () => {
  assert.equal(sd2.idToToken(0), "!");
  assert.equal(sd2.idToToken(256), "!</w>");
  assert.equal(sd2.idToToken(49406), "<|startoftext|>");
  assert.equal(sd2.idToToken(49408), undefined);
  assert.equal(sd2.tokenToId("<|endoftext|>"), 49407);
  assert.equal(sd2.tokenToId("photo</w>"), 1125);
  assert.equal(sd2.tokenToId("no such token"), undefined);
});

Deno.test("decode() inverts encode() up to cleaning", () => {
  assert.equal(sd2.decode(sd2.encode("A photo of an Astronaut")), "a photo of an astronaut");
  assert.equal(sd2.decode(sd2.encode("東京タワーの夜景 🍕")), "東京タワーの夜景 🍕");
  assert.equal(sd2.decode(sd2.encodePadded("a red fox")), "a red fox");
  assert.equal(sd1.decode(sd1.encodePadded("a red fox")), "a red fox");
  assert.equal(sd2.decode(sd2.encodePadded("wow!")), "wow !");
  assert.throws(() => sd2.decode([49408]), RangeError);
});

/** A copy of the fixture folder in a temporary directory, altered by `edit`. */
async function withFolder(
  edit: (dir: string) => Promise<void>,
  check: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "clip_tok_" });
  try {
    for (const f of FILES) await Deno.copyFile(join(DIR, f), join(dir, f));
    await edit(dir);
    await check(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function refused(dir: string, code: string, file: string, message: RegExp) {
  const e = await ClipTokenizer.fromDir(dir).then(() => undefined, (e: unknown) => e);
  assert.ok(e instanceof TokenizerError, `expected a TokenizerError, got ${e}`);
  assert.equal(e.code, code);
  assert.equal(e.file, join(dir, file));
  assert.match(e.message, message);
  assert.ok(e.message.includes(join(dir, file)), e.message);
}

for (const f of ["vocab.json", "merges.txt", "tokenizer_config.json"]) {
  Deno.test(`fromDir() names a missing ${f}`, async () => {
    await withFolder(
      (dir) => Deno.remove(join(dir, f)),
      (dir) => refused(dir, "missing_file", f, /file not found/),
    );
  });
}

for (const f of ["vocab.json", "tokenizer_config.json", "special_tokens_map.json"]) {
  Deno.test(`fromDir() names a malformed ${f}`, async () => {
    await withFolder(
      (dir) => Deno.writeTextFile(join(dir, f), '{"truncated": '),
      (dir) => refused(dir, "malformed_json", f, /malformed JSON/),
    );
  });
}

Deno.test("fromDir() works without special_tokens_map.json", async () => {
  await withFolder((dir) => Deno.remove(join(dir, "special_tokens_map.json")), async (dir) => {
    const tok = await ClipTokenizer.fromDir(dir);
    assert.deepEqual(tok.encodePadded("a photo", 5), [49406, 320, 1125, 49407, 0]);
  });
});

Deno.test("fromDir() refuses a vocab without the special tokens", async () => {
  const vocab = { ...files.vocab };
  delete vocab["<|startoftext|>"];
  await withFolder(
    (dir) => Deno.writeTextFile(join(dir, "vocab.json"), JSON.stringify(vocab)),
    (dir) =>
      refused(dir, "invalid_file", "vocab.json", /lacks the special token "<\|startoftext\|>"/),
  );
});

Deno.test("fromDir() refuses a pad token the vocab lacks, naming where it came from", async () => {
  const config = { ...files.config, pad_token: "<pad>" };
  await withFolder(
    (dir) => Deno.writeTextFile(join(dir, "tokenizer_config.json"), JSON.stringify(config)),
    (dir) => refused(dir, "invalid_file", "vocab.json", /"<pad>".*pad_token.*tokenizer_config/),
  );
});

Deno.test("fromDir() refuses a config of the wrong shape", async () => {
  const config = { ...files.config, model_max_length: "77" };
  await withFolder(
    (dir) => Deno.writeTextFile(join(dir, "tokenizer_config.json"), JSON.stringify(config)),
    (dir) => refused(dir, "invalid_file", "tokenizer_config.json", /model_max_length/),
  );
});

Deno.test("fromDir() refuses vocab ids that are not non-negative integers", async () => {
  await withFolder(
    (dir) => Deno.writeTextFile(join(dir, "vocab.json"), '{"a": 1.5, "b": -1}'),
    (dir) => refused(dir, "invalid_file", "vocab.json", /a: .*; b: /),
  );
});

Deno.test("fromDir() refuses a merges.txt line that is not a pair", async () => {
  await withFolder(
    (dir) => Deno.writeTextFile(join(dir, "merges.txt"), "#version: 0.2\ni n\nt h e\n"),
    (dir) => refused(dir, "invalid_file", "merges.txt", /line 3 is not a "left right" pair/),
  );
});

Deno.test("fromFiles() names the file at fault", () => {
  assert.throws(
    () => ClipTokenizer.fromFiles({ ...files, merges: "#version: 0.2\nq zz\n" }),
    (e: unknown) =>
      e instanceof TokenizerError && e.file === "merges.txt" && /merge 1 \(q zz\)/.test(e.message),
  );
  assert.throws(
    () => ClipTokenizer.fromFiles({ ...files, config: { ...files.config, model_max_length: 1 } }),
    (e: unknown) => e instanceof TokenizerError && e.file === "tokenizer_config.json",
  );
});

Deno.test("fromFiles() takes AddedToken objects and fills gaps from special_tokens_map", () => {
  const { pad_token: _, ...config } = files.config;
  const tok = ClipTokenizer.fromFiles({
    ...files,
    config: { ...config, model_max_length: 8 },
    specialTokens: { pad_token: { content: "<|endoftext|>" } },
  });
  assert.deepEqual(tok.encodePadded("a"), [49406, 320, 49407, 49407, 49407, 49407, 49407, 49407]);
});
