/**
 * The product's operations over a store and models, shared by tasks and HTTP functions;
 * {@linkcode WorkerEngine} runs the model work of an {@linkcode Engine} in a Web Worker.
 * @module
 */
export * from "./engine.ts";
export * from "./budget.ts";
export * from "./worker_engine.ts";
export * from "./worker_host.ts";
export * from "./preview.ts";
