/**
 * The text-to-image pipeline (its model sessions, `ModelRuntime`, live in core/models).
 * @module
 */
export * from "./txt2img.ts";
