/** A checkpoint's training defaults: parsing, the duration estimate, the domain heuristic. */
import assert from "node:assert/strict";
import {
  domainFinding,
  domainReport,
  expectedSeconds,
  parseTrainDefaults,
  readTrainDefaults,
} from "../../../core/distribution/train_defaults.ts";
import { validateTrainOptions } from "../../../core/distribution/train_options.ts";
import { CONCEPTS } from "../../../core/world/mod.ts";

const EMBEDDED = new URL("../../../core/models/embedded/dd-world-tiny/", import.meta.url).pathname;

Deno.test("parseTrainDefaults() maps snake_case options and refuses unknown or bad ones", () => {
  const d = parseTrainDefaults({
    options: { batch_size: 2, steps: 50, K: 8 },
    seconds_per_step: 1,
  });
  assert.deepEqual(d.options, { batchSize: 2, steps: 50, K: 8 });
  assert.equal(d.secondsPerStep, 1);
  assert.throws(() => parseTrainDefaults({ options: { nope: 1 } }), /options/);
  assert.throws(() => parseTrainDefaults({ options: { steps: 0 } }), /options\.steps/);
  assert.throws(() => parseTrainDefaults({ seconds_per_step: -1 }), /seconds_per_step/);
});

Deno.test("readTrainDefaults() reads dd-world-tiny's; a folder without the key gives none", async () => {
  const d = await readTrainDefaults(EMBEDDED);
  assert.deepEqual(d.options, { K: 16, M: 4, S: 2, batchSize: 4, steps: 200, lr: 0.005 });
  assert.ok(d.secondsPerStep! > 0 && d.domain !== undefined);
  assert.deepEqual(await readTrainDefaults("/no/such/dir"), { options: {} });
});

Deno.test("expectedSeconds() scales the measured step time by steps and batch x S", () => {
  const d = parseTrainDefaults({
    options: { S: 2, batch_size: 4, steps: 200 },
    seconds_per_step: 0.5,
  });
  assert.equal(expectedSeconds(d, validateTrainOptions(d.options, 4)), 100);
  const big = validateTrainOptions({ ...d.options, S: 4, steps: 100 }, 4);
  assert.equal(expectedSeconds(d, big), 100);
  assert.equal(expectedSeconds({ options: {} }, big), undefined);
});

Deno.test("domainFinding() accepts the world's renders and flags white backgrounds", async () => {
  const { domain } = await readTrainDefaults(EMBEDDED);
  const refs = Object.values(CONCEPTS).flatMap((c) => c.referenceImages(0, 4).map((r) => r.image));
  for (const img of refs) assert.ok(!domainFinding(img, domain!).outside);
  assert.equal(domainReport(refs, domain!, "m"), null);
  // Green squares on white, as a user once sent: warned.
  const white = refs.map((img) => {
    const data = Uint8Array.from(img.data, (v) => 255 - v);
    return { ...img, data: data.fill(250, 0, 32 * 3 * 4) };
  });
  const w = domainFinding(white[0]!, domain!);
  assert.ok(w.outside);
  assert.match(
    domainReport(white, domain!, "m")!,
    /^warning: \d+ of \d+ references look outside m's domain/,
  );
});
