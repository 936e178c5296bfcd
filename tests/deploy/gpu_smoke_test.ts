/**
 * deploy/gpu_smoke.ts runs end to end on the CPU (`--providers cpu,cpu`, few steps): the same
 * seeded work on both sides gives identical results; bad providers are refused. The CUDA side
 * needs a GPU node (deploy/README.md, "GPU smoke check").
 */
import assert from "node:assert/strict";
import { main } from "../../deploy/gpu_smoke.ts";

Deno.test("gpu smoke check: cpu vs cpu reports zero differences; bad providers refused", async () => {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => lines.push(a.join(" "));
  try {
    const args = ["--providers", "cpu,cpu", "--steps", "2", "--train-steps", "2"];
    assert.equal(await main(args), 0);
  } finally {
    console.log = log;
  }
  assert.equal(lines.length, 3, lines.join("\n"));
  assert.match(lines[0]!, /^cpu: load [\d.]+ s; txt2img 2 steps .* train 2 steps/);
  assert.match(lines[2]!, /max \|pixel diff\| 0\.000e\+0 .* max \|mu diff\| 0\.000e\+0/);
  const err = console.error;
  console.error = () => {};
  try {
    assert.equal(await main(["--providers", "cuda"]), 1);
    assert.equal(await main(["--providers", "cpu,gpu"]), 1);
  } finally {
    console.error = err;
  }
});
