/**
 * GET /healthz (the process answers: always 200) and GET /readyz (200 once the default
 * model is loaded and the store answers a probe within 2 s; 503 before, during shutdown, and
 * while the store fails or hangs: code `store_unavailable`). Both are open without an API key. When
 * loading the default model failed, /readyz logs the reason once at warning level (again only
 * when the reason changes), so an instance that never becomes ready says why; a failed load is
 * retried at most every 30 s, on probes.
 *
 * @module
 */
import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppDeps, AppEnv } from "../env.ts";
import { ErrorSchema, route } from "../errors.ts";
import { StoreHealth } from "../lib/store_health.ts";

const Ok = z.object({ status: z.literal("ok") });

/** Mounts both routes on `app`. */
export function health(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const healthz = route("get", "/healthz", "Liveness", {
    responses: { 200: { description: "Alive", content: { "application/json": { schema: Ok } } } },
  });
  app.openapi(healthz, (c) => c.json({ status: "ok" as const }, 200));

  const readyz = route(
    "get",
    "/readyz",
    "Readiness: the default model is loaded and the store answers",
    {
      responses: {
        200: { description: "Ready", content: { "application/json": { schema: Ok } } },
        503: { description: "Not ready", content: { "application/json": { schema: ErrorSchema } } },
      },
    },
  );
  let logged: string | null = null;
  const storeHealth = new StoreHealth(deps.store);
  app.openapi(readyz, async (c) => {
    const s = deps.readiness.status();
    if (s.ready) {
      const store = await storeHealth.check();
      if (store.ok) return c.json({ status: "ok" as const }, 200);
      if (store.reason !== logged) {
        logged = store.reason ?? null;
        deps.log("warn", "not ready", { reason: store.reason });
      }
      const error = { code: "store_unavailable", message: store.reason ?? "store unavailable" };
      return c.json({ error }, 503, { "Retry-After": "5" });
    }
    if (s.failed && s.reason !== logged) {
      logged = s.reason ?? null;
      deps.log("warn", "not ready", { reason: s.reason, model: deps.config.defaultModel });
    }
    // A failed load is tried again now and then: what was down at start may be back.
    deps.readiness.retryIfDue();
    return c.json({ error: { code: "not_ready", message: s.reason ?? "not ready" } }, 503, {
      "Retry-After": "5",
    });
  });
}
