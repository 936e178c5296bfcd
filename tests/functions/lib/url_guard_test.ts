import assert from "node:assert/strict";
import { checkUrl, isPublicAddress, type NetOptions } from "../../../functions/lib/url_guard.ts";
import { ApiError } from "../../../functions/errors.ts";

Deno.test("isPublicAddress() refuses private, loopback, link-local and metadata addresses", () => {
  const blocked = [
    "127.0.0.1",
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "255.255.255.255",
    "198.18.0.1",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd00:ec2::254",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "64:ff9b::a9fe:a9fe",
    "2002:c0a8:0101::1",
    "2001:db8::1",
    "not-an-ip",
    "1.2.3",
  ];
  for (const ip of blocked) assert.ok(!isPublicAddress(ip), ip);
  for (
    const ip of ["93.184.215.14", "8.8.8.8", "172.32.0.1", "2606:4700::1111", "::ffff:8.8.8.8"]
  ) {
    assert.ok(isPublicAddress(ip), ip);
  }
});

function net(answers: Record<string, string[]>, allowPrivate = false): NetOptions {
  return {
    allowPrivate,
    timeoutMs: 1000,
    resolveDns: (host, type) => {
      const a = (answers[host] ?? []).filter((ip) => (type === "A") === !ip.includes(":"));
      return a.length ? Promise.resolve(a) : Promise.reject(new Deno.errors.NotFound(host));
    },
  };
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (e) {
    assert.ok(e instanceof ApiError);
    return `${e.status} ${e.code}`;
  }
}

Deno.test("checkUrl() resolves names and refuses any non-public answer", async () => {
  const n = net({
    "good.example": ["93.184.215.14"],
    "evil.example": ["93.184.215.14", "10.0.0.1"],
    "meta.example": ["169.254.169.254"],
    "v6.example": ["::1"],
  });
  assert.equal(await code(checkUrl("https://good.example/a.png", n)), "ok");
  assert.equal(await code(checkUrl("https://evil.example/a.png", n)), "422 url_not_allowed");
  assert.equal(await code(checkUrl("http://meta.example/", n)), "422 url_not_allowed");
  assert.equal(await code(checkUrl("http://v6.example/", n)), "422 url_not_allowed");
  assert.equal(await code(checkUrl("http://nowhere.example/", n)), "422 url_unresolvable");
});

Deno.test("checkUrl() refuses literals, local names and other schemes without DNS", async () => {
  const n = net({});
  for (
    const u of [
      "http://127.0.0.1:8080/",
      "http://[::1]/",
      "http://2130706433/",
      "http://0x7f.1/",
      "http://169.254.169.254/latest/meta-data",
      "http://localhost/",
      "http://foo.localhost/",
      "http://metadata.google.internal/",
      "file:///etc/passwd",
      "ftp://example.com/",
    ]
  ) assert.equal(await code(checkUrl(u, n)), "422 url_not_allowed", u);
  assert.equal(await code(checkUrl("not a url", n)), "400 invalid_url");
});

Deno.test("checkUrl() allows private addresses when configured to", async () => {
  assert.equal(await code(checkUrl("http://127.0.0.1:1/", net({}, true))), "ok");
});
