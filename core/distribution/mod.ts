/**
 * DreamDistribution: the objective graph, training, sampling, templates and the Gaussian
 * over text features (DESIGN §3–§4), its options and each model's training defaults.
 * @module
 */
export * from "./checkpoint.ts";
export * from "./errors.ts";
export * from "./fit.ts";
export * from "./objective.ts";
export * from "./prompt_distribution.ts";
export * from "./render.ts";
export * from "./sample.ts";
export * from "./template.ts";
export * from "./train.ts";
export * from "./train_graph.ts";
export * from "./train_options.ts";
export * from "./train_defaults.ts";
