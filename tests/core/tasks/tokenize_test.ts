/** `deno task tokenize`: ids as openai/CLIP's SimpleTokenizer gives them (golden data). */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runTaskFile } from "./_run.ts";

const DIR = new URL("../../fixtures/clip-tokenizer/", import.meta.url).pathname;
const golden: { text: string; ids: number[]; sd2_input_ids: number[] }[] = JSON.parse(
  await Deno.readTextFile(join(DIR, "golden.json")),
);

Deno.test("tokenize prints one JSON array of ids per text, without BOS/EOS, as the golden data", async () => {
  const texts = golden.map((g) => g.text);
  const r = await runTaskFile("tokenize.ts", ["--dir", DIR, ...texts]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split("\n");
  assert.equal(lines.length, golden.length);
  lines.forEach((line, i) => assert.deepEqual(JSON.parse(line), golden[i]!.ids, texts[i]));
  const padded = await runTaskFile("tokenize.ts", ["--dir", DIR, "--padded", golden[0]!.text]);
  assert.deepEqual(JSON.parse(padded.stdout), golden[0]!.sd2_input_ids);
});

Deno.test("tokenize refuses a missing folder or no text with one error line", async () => {
  const cases: [string[], RegExp][] = [
    [["hello"], /^error: --dir is required/],
    [["--dir", DIR], /^error: give at least one TEXT/],
    [["--dir", "/no/such/dir", "x"], /^error: tokenizer folder not found: \/no\/such\/dir/],
  ];
  for (const [args, re] of cases) {
    const r = await runTaskFile("tokenize.ts", args);
    assert.equal(r.code, 1, args.join(" "));
    assert.equal(r.stdout, "");
    assert.match(r.stderr, re);
    assert.equal(r.stderr.split("\n").length, 2);
  }
});
