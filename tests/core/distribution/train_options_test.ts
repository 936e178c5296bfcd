import assert from "node:assert/strict";
import {
  isValidatedTrainOptions,
  validateTrainOptions,
} from "../../../core/distribution/train_options.ts";

Deno.test("validateTrainOptions() checks once: its frozen result passes through as it is", () => {
  const valid = validateTrainOptions({ K: 4, steps: 10 }, 3);
  assert.ok(Object.isFrozen(valid));
  assert.ok(isValidatedTrainOptions(valid));
  assert.equal(validateTrainOptions(valid, 3), valid);
  // The image count is still checked.
  assert.throws(() => validateTrainOptions(valid, 0), /no reference images/);
});

Deno.test("validateTrainOptions() checks a changed copy of valid options again", () => {
  const valid = validateTrainOptions({}, 2);
  const changed = { ...valid, K: 1 };
  assert.equal(isValidatedTrainOptions(changed), false);
  assert.throws(() => validateTrainOptions(changed, 2), /K >= 2/);
  assert.equal(isValidatedTrainOptions({ ...valid }), false);
  assert.equal(isValidatedTrainOptions(undefined), false);
});
