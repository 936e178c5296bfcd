/** The training kernel: loop order, progress, resume numbering, abort and gradient errors. */
import assert from "node:assert/strict";
import type { HostTensor } from "../../../core/onnx/runtime.ts";
import { AdamW } from "../../../core/optim/adamw.ts";
import { runSteps, type TrainProgress } from "../../../core/optim/step_runner.ts";

/** A session whose loss is sum(x^2) and gradient 2x, for the feed `x`. */
const quadratic = {
  run: (feeds: Record<string, HostTensor>) => {
    const x = feeds.x!.data as Float32Array;
    const loss = x.reduce((a, v) => a + v * v, 0);
    return Promise.resolve({
      loss: { dtype: "float32", dims: [], data: new Float32Array([loss]) } as HostTensor,
      grad: { dtype: "float32", dims: [x.length], data: x.map((v) => 2 * v) } as HostTensor,
    });
  },
};

function run(first: number, end: number, values: Float32Array, opt: AdamW, curve: number[]) {
  const events: string[] = [];
  const progress: TrainProgress[] = [];
  const done = runSteps({
    session: quadratic,
    groups: [{ values, optimizer: opt, gradient: (out) => out.grad!.data as Float32Array }],
    first,
    end,
    lossCurve: curve,
    feeds: (step) => {
      events.push(`feeds ${step}`);
      return { x: { dtype: "float32", dims: [values.length], data: values } };
    },
    beforeStep: (step) => void events.push(`before ${step}`),
    afterUpdate: (step) => void events.push(`update ${step}`),
    afterStep: (d) => void events.push(`after ${d}`),
    onProgress: (p) => void progress.push(p),
  });
  return { done, events, progress };
}

Deno.test("runSteps() runs steps first..end-1 in order and lowers the loss", async () => {
  const values = new Float32Array([1, -2]);
  const curve: number[] = [];
  const { done, events, progress } = run(0, 30, values, new AdamW(2, { lr: 0.1 }), curve);
  await done;
  assert.deepEqual(events.slice(0, 5), ["before 0", "feeds 0", "update 0", "after 1", "before 1"]);
  assert.equal(curve.length, 30);
  assert.ok(curve.at(-1)! < curve[0]! / 2);
  assert.deepEqual(progress.map((p) => p.step), Array.from({ length: 30 }, (_, i) => i + 1));
  assert.ok(progress.every((p) => p.steps === 30 && p.stepsPerSecond > 0));
  assert.equal(progress.at(-1)!.etaSeconds, 0);
});

Deno.test("runSteps() resumed at step k continues exactly where an unbroken run is", async () => {
  const whole = new Float32Array([1, -2]);
  const a = new AdamW(2, { lr: 0.1 });
  await run(0, 10, whole, a, []).done;
  const part = new Float32Array([1, -2]);
  const b = new AdamW(2, { lr: 0.1 });
  await run(0, 4, part, b, []).done;
  const resumed = new AdamW(2, { lr: 0.1 });
  resumed.state = structuredClone(b.state);
  const { done, progress } = run(4, 10, part, resumed, []);
  await done;
  assert.deepEqual(progress.map((p) => p.step), [5, 6, 7, 8, 9, 10]);
  assert.deepEqual(part, whole);
});

Deno.test("runSteps() stops with the signal's reason and maps non-finite gradients", async () => {
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(
    runSteps({
      session: quadratic,
      groups: [],
      first: 0,
      end: 3,
      lossCurve: [],
      feeds: () => ({}),
      signal: ac.signal,
    }),
    (e) => e instanceof DOMException && e.name === "AbortError",
  );
  const values = new Float32Array([NaN]);
  await assert.rejects(
    runSteps({
      session: quadratic,
      groups: [{
        values,
        optimizer: new AdamW(1),
        gradient: (out) => out.grad!.data as Float32Array,
      }],
      first: 0,
      end: 1,
      lossCurve: [],
      feeds: () => ({ x: { dtype: "float32", dims: [1], data: values } }),
      nonFiniteGradient: (step) => new RangeError(`diverged at ${step}`),
    }),
    /diverged at 0/,
  );
});
