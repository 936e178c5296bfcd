/**
 * Reverse-mode differentiation of ONNX graphs into standard ONNX (DESIGN §5): the driver,
 * the rule table and the rule types. Coverage: COVERAGE.md beside this file.
 * @module
 */
export * from "./autodiff_error.ts";
export * from "./driver.ts";
export * from "./types.ts";
export { RULES } from "./rules/mod.ts";
