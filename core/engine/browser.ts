/**
 * The browser-safe part of core/engine: the request rules (steps, planned timesteps) and the
 * shape of the model description the server sends to the page.
 * @module
 */
export * from "./requests.ts";
export type { BrowserModelManifest } from "./browser_model.ts";
