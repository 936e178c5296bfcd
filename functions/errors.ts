/**
 * The one error shape of the API, `{error: {code, message}}`, and the handlers that produce
 * it: {@linkcode errorHandler} (Hono's onError), {@linkcode defaultHook} (zod validation),
 * {@linkcode notFound}. Core errors map to statuses here and nowhere else; anything unknown
 * is a 500 whose message names the request id, never the internals (those go to the log).
 *
 * @example
 * ```ts
 * import { ApiError, toApiError } from "./errors.ts";
 * const e = toApiError(new ApiError(409, "conflict", "already running"));
 * console.assert(e.status === 409 && e.code === "conflict");
 * ```
 *
 * @module
 */
import { createRoute, type RouteConfig, z } from "@hono/zod-openapi";
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ZodError } from "zod";
import { EngineError, ImageError, ModelError, StoreError } from "../core/engine/mod.ts";
import type { AppEnv, Log } from "./env.ts";

/** An error with its HTTP status and machine-readable code, rendered as JSON. */
export class ApiError extends Error {
  /**
   * @param status HTTP status (4xx or 5xx).
   * @param code Stable machine-readable reason.
   * @param message Human-readable explanation (no secrets, no internals).
   * @param retryAfter Seconds for a `Retry-After` header (429, 503).
   */
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** The JSON body of every error response. */
export const ErrorSchema = z.object({
  error: z.object({
    code: z.string().openapi({ example: "validation_error" }),
    message: z.string().openapi({ example: "images: at least 1 image is required" }),
  }),
}).openapi("Error");

/** The body of an error response. */
export type ErrorBody = z.infer<typeof ErrorSchema>;

const errorContent = { "application/json": { schema: ErrorSchema } };

/** OpenAPI descriptions of the error statuses most routes can answer. */
export const errorResponses = {
  400: { description: "Invalid request", content: errorContent },
  401: { description: "Missing or wrong API key", content: errorContent },
  404: { description: "Not found", content: errorContent },
  413: { description: "Body or image over a limit", content: errorContent },
  422: { description: "Well-formed but unusable input", content: errorContent },
  429: { description: "Queue full (see Retry-After)", content: errorContent },
  500: { description: "Internal error", content: errorContent },
} as const;

/**
 * A JSON response's OpenAPI description.
 * @example
 * ```ts
 * import { createRoute, type RouteConfig, z } from "@hono/zod-openapi";
 * console.assert(json("The job", z.object({})).description === "The job");
 * ```
 */
export function json<S extends z.ZodType>(description: string, schema: S) {
  return { description, content: { "application/json": { schema } } };
}

/**
 * A binary response's OpenAPI description (one or more media types).
 * @example
 * ```ts
 * console.assert("application/octet-stream" in binary("A file").content);
 * ```
 */
export function binary(description: string, ...types: string[]) {
  const schema = z.string().openapi({ format: "binary" });
  const media = types.length > 0 ? types : ["application/octet-stream"];
  return { description, content: Object.fromEntries(media.map((t) => [t, { schema }])) };
}

/**
 * A route's responses: its own (`ok`) and the shared error statuses ({@linkcode errorResponses}).
 * @example
 * ```ts
 * import { createRoute, type RouteConfig, z } from "@hono/zod-openapi";
 * console.assert(500 in withErrors({ 200: json("Ok", z.object({})) }));
 * ```
 */
export function withErrors<R extends object>(ok: R): R & typeof errorResponses {
  return { ...ok, ...errorResponses };
}

/**
 * A route's definition: method, path and summary first, then the rest (request, responses,
 * middleware), as `createRoute` takes it.
 * @example
 * ```ts
 * const r = route("get", "/v1/models", "Models offered", { responses: withErrors({}) });
 * console.assert(r.path === "/v1/models");
 * ```
 */
export function route<
  const M extends RouteConfig["method"],
  const P extends string,
  const R extends Omit<RouteConfig, "method" | "path" | "summary">,
>(method: M, path: P, summary: string, rest: R) {
  return createRoute({ method, path, summary, ...rest });
}

const HTTP_CODES: Partial<Record<number, string>> = {
  400: "bad_request",
  401: "unauthorized",
  404: "not_found",
  405: "method_not_allowed",
  409: "conflict",
  413: "body_too_large",
  415: "unsupported_media_type",
  422: "unprocessable",
  429: "queue_full",
  503: "unavailable",
  504: "timeout",
};

/** Core error codes whose status is not 400 (an EngineError's default) or 422 (an image's). */
const CODE_STATUS: Partial<Record<string, ContentfulStatusCode>> = {
  invalid_image: 422,
  unsupported_format: 415,
  image_too_large: 413,
  model_mismatch: 422,
  model_too_large: 422,
};

/**
 * Maps any thrown value to an {@linkcode ApiError}; unknown errors become a 500 `internal`.
 *
 * @param e What was thrown.
 * @returns The error to render.
 */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof HTTPException) {
    const message = e.message || "request refused";
    let code = HTTP_CODES[e.status] ?? "error";
    if (e.status === 400 && /JSON/.test(message)) code = "invalid_json";
    if (e.status === 400 && /FormData/.test(message)) code = "invalid_form";
    return new ApiError(e.status as ContentfulStatusCode, code, message);
  }
  if (e instanceof EngineError) {
    return new ApiError(CODE_STATUS[e.code] ?? 400, e.code, e.message);
  }
  if (e instanceof ImageError) return new ApiError(CODE_STATUS[e.code] ?? 422, e.code, e.message);
  if (e instanceof ModelError) {
    const status = e.code === "unavailable"
      ? 503
      : e.code === "not_locked" || e.code === "pending" || e.code === "invalid"
      ? 422
      : 502;
    return new ApiError(status, `model_${e.code}`, e.message);
  }
  if (e instanceof StoreError) {
    if (e.code === "not_found") return new ApiError(404, "not_found", e.message);
    if (e.code === "invalid_key") return new ApiError(400, "invalid_id", e.message);
    // a stored artifact that fails its checks (sha256, schema, non-finite values): the request
    // cannot be served and a retry will not help; the message names what is wrong
    if (e.code === "corrupt") return new ApiError(422, "corrupt", e.message);
    if (e.code === "timeout") {
      return new ApiError(504, "store_timeout", "the store did not answer in time", 5);
    }
    return new ApiError(503, "store_unavailable", "the store is unavailable", 5);
  }
  return new ApiError(500, "internal", "internal error");
}

/**
 * The error as the response renders it: status, body and headers. An error raised after the
 * request's deadline fired (core rejects with the signal's reason, `signal.throwIfAborted()`)
 * reports the deadline's reason.
 *
 * @param e What was thrown.
 * @param signal The request's deadline signal, if any.
 * @param requestId Named in the message of 500s, for the logs.
 */
export function errorResponse(
  e: unknown,
  signal?: AbortSignal,
  requestId?: string,
): { error: ApiError; body: ErrorBody; headers: Record<string, string> } {
  let error = toApiError(e);
  if (signal?.aborted && signal.reason instanceof ApiError && !(e instanceof ApiError)) {
    error = signal.reason;
  }
  const message = error.status === 500 && error.code === "internal"
    ? `internal error${requestId ? ` (request ${requestId})` : ""}`
    : error.message;
  const headers: Record<string, string> = {};
  if (error.retryAfter !== undefined) headers["Retry-After"] = String(Math.ceil(error.retryAfter));
  if (error.status === 401) headers["WWW-Authenticate"] = 'Bearer realm="dreamdistribution"';
  return { error, body: { error: { code: error.code, message } }, headers };
}

/**
 * Hono's onError: renders the error as JSON; 5xx are logged with their cause.
 *
 * @param log Where 5xx errors are logged.
 */
export function errorHandler(log: Log): ErrorHandler<AppEnv> {
  return (e, c) => {
    const requestId = c.get("requestId");
    const { error, body, headers } = errorResponse(e, c.get("deadline")?.signal, requestId);
    if (error.status >= 500) {
      log("error", "request failed", {
        requestId,
        code: error.code,
        error: e instanceof Error ? `${e.name}: ${e.message}` : String(e),
      });
    }
    return c.json(body, error.status, headers);
  };
}

/** Formats zod issues as `path: message; ...` (at most five). */
export function describeIssues(error: ZodError): string {
  return error.issues.slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join(".") : "(body)"}: ${i.message}`)
    .join("; ");
}

/**
 * The zod-openapi defaultHook: a failed validation is a 400 `validation_error` naming the
 * fields.
 */
export function defaultHook(
  result: { success: true } | { success: false; error: ZodError; target?: string },
  c: Context<AppEnv>,
): Response | undefined {
  if (result.success) return undefined;
  const where = result.target && result.target !== "json" && result.target !== "form"
    ? `${result.target} `
    : "";
  return c.json(
    { error: { code: "validation_error", message: where + describeIssues(result.error) } },
    400,
  );
}

/** A JSON 404 for paths no route matches. */
export const notFound: NotFoundHandler<AppEnv> = (c) =>
  c.json(
    { error: { code: "not_found", message: `no route for ${c.req.method} ${c.req.path}` } },
    404,
  );
