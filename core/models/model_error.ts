/**
 * The one error type of model resolution and fetching (models.lock, the Hub, the cache).
 *
 * @module
 */
import { CodedError } from "../errors.ts";

/**
 * Why a model could not be resolved or fetched:
 * - `not_locked`: the name is not in models.lock and unlocked models are not allowed;
 * - `pending`: the entry has no revision and files yet (run `deno task models:lock NAME`);
 * - `invalid`: a bad name, option, lock entry or repository listing;
 * - `not_found`: the Hub has no such repo, revision or file (HTTP 404);
 * - `denied`: the Hub refused access (HTTP 401/403: gated or private, set HF_TOKEN);
 * - `corrupt`: a file's sha256 or size differs from its pin (the file was deleted);
 * - `unavailable`: the Hub could not be reached or failed (network, 5xx, HF_HUB_OFFLINE).
 */
export type ModelErrorCode =
  | "not_locked"
  | "pending"
  | "invalid"
  | "not_found"
  | "denied"
  | "corrupt"
  | "unavailable";

/**
 * An error resolving or fetching a model; `message` is one line naming the model and file.
 *
 * @example
 * ```ts
 * import { ModelError } from "./model_error.ts";
 * const e = new ModelError("pending", "x: run deno task models:lock x");
 * console.assert(e.code === "pending" && e instanceof Error);
 * ```
 */
export class ModelError extends CodedError<ModelErrorCode> {}
