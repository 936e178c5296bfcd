/**
 * The browser-safe part of core/distribution: the samplers (PromptDistribution) and rendering
 * a stored distribution. The in-browser sampler (core/browser) imports this folder only here.
 * @module
 */
export * from "./prompt_distribution.ts";
export * from "./render.ts";
