/** Key rules shared by every store. */
import assert from "node:assert/strict";
import {
  StoreError,
  validateKey,
  validateListOptions,
  validatePrefix,
} from "../../../core/store/store.ts";

const invalidKey = (e: unknown) => e instanceof StoreError && e.code === "invalid_key";

Deno.test("validateKey() accepts relative keys of the allowed characters", () => {
  for (
    const k of ["a", "distributions/dd_x/manifest.json", "A-Z_0.9/x", "a/...b", "x".repeat(512)]
  ) {
    assert.equal(validateKey(k), k);
  }
});

Deno.test("validateKey() refuses traversal, absolute paths and odd characters", () => {
  const bad = [
    "",
    "../x",
    "/abs",
    "a/../../b",
    "a/..",
    "..",
    "a/./b",
    ".",
    "a\\b",
    "a\0b",
    "a//b",
    "a/",
    "a b",
    "é",
    "a:b",
    "a~",
    "x".repeat(513),
  ];
  for (const k of bad) assert.throws(() => validateKey(k), invalidKey, JSON.stringify(k));
  assert.throws(() => validateKey("../x"), /invalid store key "\.\.\/x": '\.\.' segment/);
});

Deno.test("validatePrefix() accepts folder and partial prefixes, refuses traversal", () => {
  for (const p of ["", "distributions/", "distributions/dd_", "a", "a/b/c", "a/.."]) {
    assert.equal(validatePrefix(p), p);
  }
  for (const p of ["/", "/a", "../", "a/../b", "a//", "a\\b", "./a"]) {
    assert.throws(() => validatePrefix(p), invalidKey, JSON.stringify(p));
  }
});

Deno.test("validateListOptions() refuses bad limits and afters", () => {
  validateListOptions(undefined);
  validateListOptions({ limit: 1, after: "a/b" });
  for (const limit of [0, -1, 1.5, NaN]) {
    assert.throws(() => validateListOptions({ limit }), RangeError);
  }
  assert.throws(() => validateListOptions({ after: "a b" }), invalidKey);
});

Deno.test("StoreError carries a code, a name and a cause", () => {
  const cause = new Error("disk");
  const e = new StoreError("io", "cannot write", { cause });
  assert.equal(e.code, "io");
  assert.equal(e.name, "StoreError");
  assert.equal(e.cause, cause);
  assert.ok(e instanceof Error);
});
