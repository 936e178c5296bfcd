import assert from "node:assert/strict";
import { bindHost, ENV_NAMES, parseConfig } from "../../functions/config.ts";

Deno.test("parseConfig() has the documented defaults", () => {
  const c = parseConfig({});
  assert.equal(c.port, 8000);
  assert.equal(c.store, "./.data");
  assert.deepEqual(c.apiKeys, []);
  assert.equal(c.allowPrivateUrls, false);
  assert.deepEqual(
    [
      c.limits.maxImages,
      c.limits.minImages,
      c.limits.maxN,
      c.limits.maxSteps,
      c.limits.maxK,
      c.limits.maxM,
    ],
    [20, 1, 16, 150, 64, 16],
  );
  assert.equal(c.concurrency, 1);
});

Deno.test("parseConfig() reads lists, flags and numbers; empty means unset", () => {
  const c = parseConfig({
    DD_API_KEYS: " a, b ,,c",
    DD_ALLOW_PRIVATE_URLS: "1",
    PORT: "",
    DD_MAX_N: "4",
  });
  assert.deepEqual(c.apiKeys, ["a", "b", "c"]);
  assert.equal(c.allowPrivateUrls, true);
  assert.equal(c.port, 8000);
  assert.equal(c.limits.maxN, 4);
});

Deno.test("parseConfig() names a bad variable and never echoes its value", () => {
  assert.throws(() => parseConfig({ PORT: "http" }), /PORT/);
  assert.throws(() => parseConfig({ DD_ALLOW_PRIVATE_URLS: "maybe" }), /DD_ALLOW_PRIVATE_URLS/);
  assert.ok(ENV_NAMES.includes("DD_WEBHOOK_SECRET"));
});

Deno.test("parseConfig() binds to loopback unless API keys or DD_ALLOW_UNAUTHENTICATED_PUBLIC say otherwise", () => {
  assert.equal(parseConfig({}).host, "127.0.0.1");
  assert.equal(parseConfig({ DD_API_KEYS: "k" }).host, "0.0.0.0");
  assert.equal(parseConfig({ DD_ALLOW_UNAUTHENTICATED_PUBLIC: "1" }).host, "0.0.0.0");
  assert.equal(parseConfig({ HOST: "127.0.0.2" }).host, "127.0.0.2");
  assert.equal(parseConfig({ HOST: "::1" }).host, "::1");
  assert.equal(parseConfig({ HOST: "0.0.0.0", DD_API_KEYS: "k" }).host, "0.0.0.0");
  assert.equal(
    parseConfig({ HOST: "0.0.0.0", DD_ALLOW_UNAUTHENTICATED_PUBLIC: "yes" }).host,
    "0.0.0.0",
  );
  assert.throws(
    () => parseConfig({ HOST: "0.0.0.0" }),
    /HOST=0\.0\.0\.0 would serve without authentication; set DD_API_KEYS/,
  );
  assert.throws(() => bindHost("192.168.1.5", false, false), /DD_ALLOW_UNAUTHENTICATED_PUBLIC/);
});
