/**
 * The product's operations over a store and models, shared by tasks and HTTP functions.
 * @module
 */
export * from "./engine.ts";
export * from "./preview.ts";
