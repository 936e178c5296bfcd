/**
 * Optimisers in TypeScript.
 * @module
 */
export * from "./adamw.ts";
export * from "./step_runner.ts";
export * from "./state_body.ts";
