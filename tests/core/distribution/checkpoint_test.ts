/** The one checkpoint serialisation: a JSON round trip is exact, a bad body is refused. */
import assert from "node:assert/strict";
import { checkpointBody, parseCheckpointBody } from "../../../core/distribution/checkpoint.ts";
import type { TrainCheckpoint } from "../../../core/distribution/train.ts";

Deno.test("checkpointBody() and parseCheckpointBody() round-trip bit for bit", () => {
  const c: TrainCheckpoint = {
    step: 3,
    ctx: new Float32Array([0.1, -0, 1e-30, 3.4e38]),
    adam: { step: 3, m: new Float64Array([Math.PI, -1e-300]), v: new Float64Array([2, 0]) },
    lossCurve: [1.5, 0.25, 0.125],
    responsibilities: [0.5, 0.5],
  };
  const back = parseCheckpointBody(JSON.parse(JSON.stringify(checkpointBody(c))));
  assert.ok(back);
  assert.deepEqual(back, c);
  assert.ok(Object.is(back.ctx[1], -0));
  const { responsibilities: _, ...plain } = c;
  assert.equal("responsibilities" in parseCheckpointBody(checkpointBody(plain))!, false);
});

Deno.test("parseCheckpointBody() gives null for a body that does not match", () => {
  assert.equal(parseCheckpointBody({ step: -1 }), null);
  assert.equal(parseCheckpointBody(null), null);
});
