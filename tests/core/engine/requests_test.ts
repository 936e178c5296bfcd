import assert from "node:assert/strict";
import { EngineError, mixWeights, planTimesteps, SAMPLE_STEPS } from "../../../core/engine/mod.ts";
import { parseSchedulerConfig } from "../../../core/schedulers/config.ts";
import { SchedulerKind } from "../../../core/schedulers/scheduler.ts";

const config = parseSchedulerConfig({});

Deno.test("planTimesteps() plans once and refuses a bad step count as invalid_request", () => {
  const { scheduler, plan } = planTimesteps(SchedulerKind.DDIM, config, 10);
  assert.equal(scheduler.kind, SchedulerKind.DDIM);
  assert.equal(plan.timesteps.length, 10);
  for (const steps of [0, 1.5, config.num_train_timesteps + 1]) {
    assert.throws(
      () => planTimesteps(SchedulerKind.EulerAncestral, config, steps),
      (e: unknown) => e instanceof EngineError && e.code === "invalid_request",
    );
  }
  assert.equal(SAMPLE_STEPS.max <= config.num_train_timesteps, true);
});

Deno.test("mixWeights() normalises, or (exact) refuses a sum other than 1", () => {
  assert.deepEqual(mixWeights([{ id: "a", weight: 3 }, { id: "b", weight: 1 }]), [
    { id: "a", weight: 0.75 },
    { id: "b", weight: 0.25 },
  ]);
  assert.deepEqual(mixWeights([{ id: "a", weight: 0.3 }]), [{ id: "a", weight: 1 }]);
  const exact = [{ id: "a", weight: 0.3 }, { id: "b", weight: 0.7 }];
  assert.deepEqual(mixWeights(exact, { exact: true }), exact);
  assert.throws(
    () => mixWeights([{ id: "a", weight: 0.3 }, { id: "b", weight: 0.3 }], { exact: true }),
    /mix weights must sum to 1, got 0\.6/,
  );
  assert.throws(() => mixWeights([]), /no distribution/);
  assert.throws(() => mixWeights([{ id: "a", weight: -1 }]), EngineError);
  assert.throws(() => mixWeights([{ id: "a", weight: 0 }, { id: "b", weight: 0 }]), /sum to 1/);
});
