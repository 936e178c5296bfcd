/**
 * GET /openapi.json (the document generated from the routes' zod schemas) and GET /docs (a
 * small self-contained page listing the operations; no external assets).
 *
 * @module
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../env.ts";

const INFO = {
  openapi: "3.0.3",
  info: {
    title: "DreamDistribution",
    version: "1.0.0",
    description: "Learn a prompt distribution from reference images; sample images from it.",
  },
};

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>DreamDistribution API</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
code{background:#f2f2f2;padding:0 .2em}li{margin:.3em 0}</style></head>
<body><h1>DreamDistribution API</h1>
<p>The machine-readable description is at <a href="/openapi.json"><code>/openapi.json</code></a>
(OpenAPI 3; load it in any OpenAPI viewer or client generator).</p>
<ul id="ops"><li>Loading&hellip;</li></ul>
<script>
fetch("/openapi.json").then((r) => r.json()).then((doc) => {
  const ul = document.getElementById("ops");
  ul.textContent = "";
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const li = document.createElement("li");
      const code = document.createElement("code");
      code.textContent = method.toUpperCase() + " " + path;
      li.append(code, " " + (op.summary || ""));
      ul.append(li);
    }
  }
}).catch(() => {});
</script></body></html>
`;

/** Mounts both routes on `app` (call after every other route is registered). */
export function openapi(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
  });
  app.doc("/openapi.json", { ...INFO, security: [{ bearer: [] }] });
  app.get("/docs", (c) => c.html(PAGE));
}
