/**
 * Training models from scratch (the embedded default model): weights, the train-step
 * graph, the world model's definition and its trainer.
 * @module
 */
export * from "./weights.ts";
export * from "./base_graph.ts";
export * from "./world_model.ts";
export * from "./train_world_model.ts";
