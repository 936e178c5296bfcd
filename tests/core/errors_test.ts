/** The coded-error base: every core error class shares it; cancellation is an abort. */
import assert from "node:assert/strict";
import { AutodiffError } from "../../core/autodiff/autodiff_error.ts";
import { DistributionInputError } from "../../core/distribution/errors.ts";
import { EngineError } from "../../core/engine/engine.ts";
import { CodedError, isAbort } from "../../core/errors.ts";
import { ImageError } from "../../core/images/image_error.ts";
import { ModelError } from "../../core/models/model_error.ts";
import { NonFiniteGradientError } from "../../core/optim/adamw.ts";
import { SchedulerError } from "../../core/schedulers/scheduler_error.ts";
import { StoreError } from "../../core/store/store.ts";
import { UsageError } from "../../core/tasks/_cli.ts";
import { TokenizerError } from "../../core/tokenizer/tokenizer_error.ts";

Deno.test("CodedError: every core error is one, with its class name, code and cause", () => {
  const cause = new Error("root");
  const cases: [CodedError, string, string][] = [
    [new ImageError("invalid_image", "m", { cause }), "ImageError", "invalid_image"],
    [new ModelError("pending", "m", { cause }), "ModelError", "pending"],
    [new TokenizerError("missing_file", "f", "m", { cause }), "TokenizerError", "missing_file"],
    [new StoreError("not_found", "m", { cause }), "StoreError", "not_found"],
    [
      new DistributionInputError("options", "m", { cause }),
      "DistributionInputError",
      "invalid_options",
    ],
    [new EngineError("no_images", "m"), "EngineError", "no_images"],
    [new UsageError("m"), "UsageError", "usage"],
    [new NonFiniteGradientError(), "NonFiniteGradientError", "non_finite_gradient"],
    [new SchedulerError("invalid_options", "m"), "SchedulerError", "invalid_options"],
    [
      new AutodiffError("missing_rule", "m", { op: "Foo", node: "n" }),
      "AutodiffError",
      "missing_rule",
    ],
  ];
  for (const [e, name, code] of cases) {
    assert.ok(e instanceof CodedError && e instanceof Error, name);
    assert.equal(e.name, name);
    assert.equal(e.code, code);
    assert.ok(!("status" in e), `${name} carries no HTTP status`);
  }
  assert.equal(cases[0]![0].cause, cause);
  assert.equal((cases[2]![0] as TokenizerError).file, "f");
  assert.equal((cases[4]![0] as DistributionInputError).kind, "options");
});

Deno.test("isAbort() is true for an aborted signal's reason only", () => {
  const ac = new AbortController();
  ac.abort();
  assert.throws(() => ac.signal.throwIfAborted(), (e) => isAbort(e));
  assert.equal(isAbort(new Error("training cancelled")), false);
  assert.equal(isAbort("AbortError"), false);
});
