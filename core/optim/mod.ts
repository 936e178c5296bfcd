/**
 * Optimisers in TypeScript.
 * @module
 */
export * from "./adamw.ts";
