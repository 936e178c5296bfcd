/**
 * `deno task eval` (protocol v2) at tiny sizes on the random test model: it runs, reports
 * every row, writes the JSON shape the issue names and the chart, resumes from its cache, and
 * refuses bad concept files.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { judgeDial, main, PRODUCT_DEFAULT } from "../../../core/tasks/eval.ts";

const TINY = [
  "--model=tiny-sd2-fixture",
  "--seeds=0",
  "--n=4",
  "--sweep-n=2",
  "--train-steps=2",
  "--k=2",
  "--steps=2",
  "--rows=textual_inversion,dd_paper_diagonal,dd_best_prompt_mixture,short_caption," +
  `own_captions,ideal_sampler,${PRODUCT_DEFAULT}`,
];

/** Amendment 6's row, the default before amendment 7's, still swept on every seed. */
const SS2 = "dd_sample_softmin_diagonal";

/** A concepts file with one concept, "reds", written into `dir`; returns its path. */
async function redsConcept(dir: string): Promise<string> {
  const file = join(dir, "concepts.json");
  await Deno.writeTextFile(
    file,
    JSON.stringify([{ name: "reds", description: "red", constraints: { colour: ["red"] } }]),
  );
  return file;
}

Deno.test("eval: a tiny run reports every row, the JSON shape, the chart; a rerun resumes", async () => {
  const out = await Deno.makeTempDir();
  try {
    const file = await redsConcept(out);
    const args = [...TINY, `--concepts-file=${file}`, `--out=${out}`, `--json=${out}/r.json`];
    assert.equal(await main(args), 0);
    const report = await Deno.readTextFile(join(out, "eval.md"));
    assert.match(report, /Not the protocol/);
    for (const row of ["textual_inversion", "dd_paper_diagonal", "ideal_sampler"]) {
      assert.match(report, new RegExp(`\\| ${row}[^|]* \\| 1 \\| [0-9.]+ \\|`), row);
    }
    const json = JSON.parse(await Deno.readTextFile(join(out, "r.json")));
    assert.equal(json.product_default, PRODUCT_DEFAULT);
    const reds = json.concepts.reds;
    for (const m of ["textual_inversion", "ideal_sampler", "dd_paper_diagonal"]) {
      const r = reds.methods[m];
      for (const k of ["fidelity", "support_coverage", "on_concept_diversity"]) {
        assert.equal(typeof r[k], "number", `${m}.${k}`);
      }
    }
    assert.equal(
      reds.methods.ideal_sampler.fidelity,
      1,
      "the ideal sampler never leaves the support",
    );
    const vs = reds.vs_textual_inversion.dd_paper_diagonal;
    assert.equal(vs.ci95.length, 2);
    assert.ok(vs.ci95[0] <= vs.support_coverage_diff && vs.support_coverage_diff <= vs.ci95[1]);
    const sweep = reds.gamma_sweep.dd_paper_diagonal;
    assert.deepEqual(sweep.map((p: { gamma: number }) => p.gamma), [0, 1, 2, 4, 6]);
    assert.equal(reds.dial[PRODUCT_DEFAULT].seeds, 1, "the dial is judged on the sweep's seed");
    const png = await Deno.readFile(join(out, "gamma_sweep.png"));
    assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]);
    // A second run finds every cell cached: no cell file changes.
    const cells = join(out, "cache", "reds", "0");
    const stamp = async () =>
      (await Array.fromAsync(Deno.readDir(cells))).map((e) => e.name).sort().join();
    const mtimes = async () => {
      const names = (await Array.fromAsync(Deno.readDir(cells))).map((e) => e.name).sort();
      return await Promise.all(names.map(async (n) => (await Deno.stat(join(cells, n))).mtime));
    };
    const [before, t0] = [await stamp(), await mtimes()];
    assert.equal(await main(args), 0);
    assert.equal(await stamp(), before);
    assert.deepEqual(await mtimes(), t0);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("eval: bad concept files, flags and sizes exit 1 before any work", async () => {
  const out = await Deno.makeTempDir();
  try {
    const file = join(out, "c.json");
    for (const bad of ['[{"name":"x","constraints":{"colour":["teal"]}}]', "{", "[]"]) {
      await Deno.writeTextFile(file, bad);
      assert.equal(await main([`--concepts-file=${file}`, `--out=${out}`]), 1, bad);
    }
    assert.equal(await main(["--concepts=nope", `--out=${out}`]), 1);
    assert.equal(await main(["--n=0", `--out=${out}`]), 1);
    assert.equal(await main(["--shard=2/2", `--out=${out}`]), 1);
    for (const flag of ["json", "markdown", "chart"]) {
      assert.equal(await main([`--${flag}=${out}`, `--out=${out}`]), 1, flag);
    }
    assert.equal(await main(["--bogus"]), 1);
    assert.deepEqual(
      (await Array.fromAsync(Deno.readDir(out))).map((e) => e.name),
      ["c.json"],
      "nothing written",
    );
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("eval: the dial rows are swept on a seed the full sweep skips (amendments 5, 7, 9)", async () => {
  const out = await Deno.makeTempDir();
  try {
    const file = await redsConcept(out);
    const args = [
      ...TINY.filter((a) => !a.startsWith("--seeds") && !a.startsWith("--rows")),
      "--seeds=1",
      `--rows=${PRODUCT_DEFAULT},${SS2},dd_paper_mixture`,
      `--concepts-file=${file}`,
      `--out=${out}`,
      `--json=${out}/r.json`,
      `--markdown=${out}/seed1.md`,
      `--chart=${out}/seed1.png`,
    ];
    assert.equal(await main(args), 0);
    const reds = JSON.parse(await Deno.readTextFile(join(out, "r.json"))).concepts.reds;
    const sweep = reds.gamma_sweep[PRODUCT_DEFAULT];
    assert.deepEqual(sweep.map((p: { gamma: number }) => p.gamma), [0, 1, 2, 4, 6]);
    assert.ok(sweep.every((p: { seeds: number }) => p.seeds === 1));
    assert.equal(reds.gamma_sweep.dd_paper_mixture, undefined, "other rows: seed 0 only");
    const md = await Deno.readTextFile(join(out, "seed1.md"));
    await Deno.stat(join(out, "seed1.png"));
    await assert.rejects(Deno.stat(join(out, "eval.md")), Deno.errors.NotFound, "report moved");
    for (const row of [PRODUCT_DEFAULT, SS2]) {
      assert.equal(reds.gamma_sweep[row].length, 5, row);
      assert.equal(reds.dial[row].seeds, 1, row);
      assert.ok(md.includes(`Dial (${row}, 1 seeds)`), row);
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("eval: judgeDial pairs the steps over seeds and applies the rule", () => {
  const seeds = (xs: [number, number][]) =>
    new Map(xs.map(([fid, div], s) => [s, { fid, div }] as const));
  // Two seeds: diversity 4 → 8 → 10 and 6 → 6 → 12; fidelity 0.9 → 0.82 and 0.8 → 0.7.
  const d = judgeDial(
    new Map([
      [0, seeds([[0.9, 4], [0.8, 6]])],
      [1, seeds([[0.85, 8], [0.8, 6]])],
      [2, seeds([[0.82, 10], [0.7, 12]])],
    ]),
  )!;
  assert.equal(d.seeds, 2);
  assert.deepEqual(d.diversity_steps.map((s) => s.diff), [2, 4]);
  assert.deepEqual(d.diversity_steps[0]!.ci95, [0, 4]);
  assert.ok(Math.abs(d.fidelity_drop.diff - -0.09) < 1e-12);
  assert.equal(d.met, true);
  // A step that does not rise, or a drop of more than 10 points, fails.
  const flat = judgeDial(
    new Map([[0, seeds([[0.9, 4]])], [1, seeds([[0.9, 4]])], [2, seeds([[0.9, 9]])]]),
  )!;
  assert.equal(flat.met, false);
  const steep = judgeDial(
    new Map([[0, seeds([[0.9, 4]])], [1, seeds([[0.85, 5]])], [2, seeds([[0.79, 9]])]]),
  )!;
  assert.equal(steep.met, false);
  assert.equal(judgeDial(new Map([[0, seeds([[0.9, 4]])]])), null, "gamma 1 and 2 missing");
});
