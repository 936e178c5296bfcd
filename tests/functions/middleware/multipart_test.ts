/** Fault class 8: a multipart body whose part lacks its closing boundary is a 400, every time. */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { ApiError } from "../../../functions/errors.ts";
import {
  boundaryOf,
  framingProblem,
  multipartComplete,
} from "../../../functions/middleware/multipart/index.ts";
import { makeApp, pngs } from "../_helpers.ts";

const B = "XyZb0undary";
const opts = `Content-Disposition: form-data; name="options"\r\n\r\n{"K":3,"steps":1}`;
const img = (bytes: Uint8Array) =>
  `Content-Disposition: form-data; name="images"; filename="a.png"\r\n` +
  `Content-Type: image/png\r\n\r\n${String.fromCharCode(...bytes)}`;

/** Bodies whose last (or only) part is cut short; each must be refused. */
function unterminated(png: Uint8Array): Record<string, string> {
  return {
    "options, no delimiter after it": `--${B}\r\n${img(png)}\r\n--${B}\r\n${opts}`,
    "options, CRLF but no delimiter": `--${B}\r\n${img(png)}\r\n--${B}\r\n${opts}\r\n`,
    "options, delimiter without --": `--${B}\r\n${img(png)}\r\n--${B}\r\n${opts}\r\n--${B}`,
    "options, delimiter and CRLF, no --": `--${B}\r\n${
      img(png)
    }\r\n--${B}\r\n${opts}\r\n--${B}\r\n`,
    "options first, image cut": `--${B}\r\n${opts}\r\n--${B}\r\n${img(png)}`,
    "headers of a part only": `--${B}\r\n${img(png)}\r\n--${B}\r\n${opts.split("\r\n")[0]}\r\n`,
    "close delimiter missing one dash": `--${B}\r\n${img(png)}\r\n--${B}\r\n${opts}\r\n--${B}-`,
    "truncated boundary": `--${B}\r\n${img(png)}\r\n--${B}\r\n${opts}\r\n--${B.slice(0, 4)}`,
    "a part after the close delimiter": `--${B}\r\n${img(png)}\r\n--${B}--\r\n--${B}\r\n${opts}`,
    "no delimiter at all": `${opts}\r\n`,
    "empty body": "",
  };
}

Deno.test("framingProblem() accepts a complete body and names what is wrong otherwise", () => {
  const png = pngs(1)[0]!;
  const ok = `--${B}\r\n${img(png)}\r\n--${B}\r\n${opts}\r\n--${B}--\r\n`;
  const bytes = (s: string) => Uint8Array.from(s, (ch) => ch.charCodeAt(0));
  assert.equal(framingProblem(bytes(ok), B), null);
  assert.equal(framingProblem(bytes(`preamble\r\n${ok}`), B), null);
  for (const [name, body] of Object.entries(unterminated(png))) {
    assert.notEqual(framingProblem(bytes(body), B), null, name);
  }
  assert.equal(boundaryOf(`multipart/form-data; boundary="${B}"`), B);
  assert.equal(boundaryOf(`multipart/form-data; boundary=${B}; charset=utf-8`), B);
  assert.equal(boundaryOf("multipart/form-data"), null);
});

Deno.test("multipartComplete() passes other content types and complete bodies", async () => {
  const app = new Hono().use(multipartComplete());
  app.post("/", async (c) => c.json([...(await c.req.formData()).keys()]));
  app.onError((e, c) => c.json({ code: (e as ApiError).code }, 400));
  const form = new FormData();
  form.append("options", "{}");
  const res = await app.request("/", { method: "POST", body: form });
  assert.deepEqual(await res.json(), ["options"]);
  const j = await app.request("/", { method: "POST", body: "{}" });
  assert.equal(j.status, 400); // not a form, but not refused by this middleware
});

Deno.test("POST /v1/distributions: every unterminated multipart variant is a 400", async () => {
  const { app, store, close } = await makeApp();
  try {
    for (const [name, body] of Object.entries(unterminated(pngs(1)[0]!))) {
      for (let round = 0; round < 3; round++) {
        const res = await app.request("/v1/distributions", {
          method: "POST",
          body: Uint8Array.from(body, (ch) => ch.charCodeAt(0)),
          headers: { "content-type": `multipart/form-data; boundary=${B}` },
        });
        const got = await res.json();
        assert.equal(res.status, 400, `${name}: ${JSON.stringify(got)}`);
        assert.equal(got.error.code, "malformed_multipart", name);
      }
    }
    const noBoundary = await app.request("/v1/distributions", {
      method: "POST",
      body: `--${B}\r\n${opts}\r\n--${B}--\r\n`,
      headers: { "content-type": "multipart/form-data" },
    });
    assert.equal(noBoundary.status, 400);
    assert.deepEqual(await store.list(""), []);
  } finally {
    await close();
  }
});
