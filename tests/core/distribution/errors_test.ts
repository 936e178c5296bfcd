import assert from "node:assert/strict";
import { DistributionInputError } from "../../../core/distribution/errors.ts";
import { PromptDistribution } from "../../../core/distribution/prompt_distribution.ts";
import { splitTemplate, templateIds } from "../../../core/distribution/template.ts";
import { validateTrainOptions } from "../../../core/distribution/train_options.ts";

/** A matcher for assert.throws: a DistributionInputError of `kind` whose message matches. */
function inputError(kind: "options" | "request", message: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof DistributionInputError, String(e));
    assert.equal(e.name, "DistributionInputError");
    assert.equal(e.kind, kind);
    assert.match(e.message, message);
    return true;
  };
}

Deno.test("bad training options throw DistributionInputError of kind options", () => {
  assert.throws(
    () => validateTrainOptions({ K: 0 }, 1),
    inputError("options", /^invalid training option K: /),
  );
  assert.throws(
    () => validateTrainOptions({ K: 1 }, 1),
    inputError("options", /^invalid training option K: a distribution needs K >= 2 prompts$/),
  );
  assert.throws(() => validateTrainOptions({}, 0), inputError("options", /^no reference images$/));
  const tok = { encode: () => [5], bosId: 1, eosId: 2, padId: 0 };
  assert.throws(
    () => templateIds(tok, "a {} and {}", 2, 8, "options"),
    inputError("options", /^template must contain exactly one \{\}/),
  );
  assert.throws(
    () => templateIds(tok, "a photo of {}", 8, 8, "options"),
    inputError("options", /^template too long: /),
  );
});

Deno.test("sampling-time misuse throws DistributionInputError of kind request", () => {
  const d = new PromptDistribution(new Float32Array(4), new Float32Array(4).fill(1), [2, 2]);
  assert.throws(
    () => PromptDistribution.mix([d, d], [1.5, -0.5]),
    inputError("request", /^mix: weights must be >= 0$/),
  );
  assert.throws(() => d.scaled(-1), inputError("request", /^gamma must be a finite number/));
  assert.throws(
    () => splitTemplate("no braces"),
    inputError("request", /^template must contain exactly one \{\}/),
  );
});

Deno.test("internal errors stay plain Errors", () => {
  assert.throws(
    () => new PromptDistribution(new Float32Array(3), new Float32Array(4), [2, 2]),
    (e: unknown) => e instanceof Error && !(e instanceof DistributionInputError),
  );
});
