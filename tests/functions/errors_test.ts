import assert from "node:assert/strict";
import { HTTPException } from "hono/http-exception";
import { EngineError } from "../../core/engine/engine.ts";
import { ImageError } from "../../core/images/image_error.ts";
import { ModelError } from "../../core/models/model_error.ts";
import { StoreError } from "../../core/store/store.ts";
import { ApiError, errorResponse, toApiError } from "../../functions/errors.ts";

Deno.test("toApiError() maps core errors to statuses", () => {
  const cases: [unknown, number, string][] = [
    [new EngineError("invalid_image", "x"), 422, "invalid_image"],
    [new EngineError("unsupported_format", "x"), 415, "unsupported_format"],
    [new EngineError("image_too_large", "x"), 413, "image_too_large"],
    [new EngineError("model_mismatch", "x"), 422, "model_mismatch"],
    [new EngineError("invalid_request", "x"), 400, "invalid_request"],
    [new ImageError("invalid_image", "x"), 422, "invalid_image"],
    [new ModelError("not_locked", "x"), 422, "model_not_locked"],
    [new ModelError("unavailable", "x"), 503, "model_unavailable"],
    [new ModelError("corrupt", "x"), 502, "model_corrupt"],
    [new StoreError("not_found", "x"), 404, "not_found"],
    [new StoreError("invalid_key", "x"), 400, "invalid_id"],
    [new StoreError("io", "/secret/path"), 503, "store_unavailable"],
    [new HTTPException(400, { message: "Malformed JSON in request body" }), 400, "invalid_json"],
    [new HTTPException(415, { message: "Unsupported Media Type" }), 415, "unsupported_media_type"],
    [new Error("boom at /srv/internal"), 500, "internal"],
  ];
  for (const [e, status, code] of cases) {
    const r = toApiError(e);
    assert.deepEqual([r.status, r.code], [status, code], String(e));
  }
});

Deno.test("errorResponse() hides internals of 500s and reports the deadline's reason", () => {
  const r = errorResponse(new Error("ENOENT /srv/secret"), undefined, "req_1");
  assert.deepEqual(r.body, {
    error: { code: "internal", message: "internal error (request req_1)" },
  });
  const ctl = new AbortController();
  ctl.abort(new ApiError(504, "timeout", "too slow"));
  assert.equal(errorResponse(new Error("generation cancelled"), ctl.signal).error.status, 504);
  const busy = errorResponse(new ApiError(429, "queue_full", "busy", 7));
  assert.equal(busy.headers["Retry-After"], "7");
});
