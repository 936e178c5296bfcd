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

Deno.test("isPublicAddress() judges every IPv6 form that embeds an IPv4 address by that address", () => {
  // [address, public?, form]
  const table: [string, boolean, string][] = [
    ["::ffff:127.0.0.1", false, "mapped, dotted"],
    ["::ffff:7f00:1", false, "mapped, hex"],
    ["0:0:0:0:0:ffff:7f00:0001", false, "mapped, long"],
    ["::ffff:a9fe:a9fe", false, "mapped, metadata"],
    ["::ffff:8.8.8.8", true, "mapped, public"],
    ["::ffff:0:7f00:1", false, "translated, hex"],
    ["::ffff:0:127.0.0.1", false, "translated, dotted"],
    ["::ffff:0:10.0.0.1", false, "translated, private"],
    ["::ffff:0:808:808", true, "translated, public"],
    ["::127.0.0.1", false, "compatible"],
    ["::7f00:1", false, "compatible, hex"],
    ["::8.8.8.8", false, "compatible (deprecated, ::/96 reserved)"],
    ["2002:7f00:1::1", false, "6to4 of loopback"],
    ["2002:a9fe:a9fe::", false, "6to4 of metadata"],
    ["2002:0a00:0001:1::1", false, "6to4 of private"],
    ["2002:808:808::1", true, "6to4 of public"],
    ["64:ff9b::7f00:1", false, "NAT64 of loopback"],
    ["64:ff9b::127.0.0.1", false, "NAT64 dotted"],
    ["64:ff9b::a00:1", false, "NAT64 of private"],
    ["64:ff9b::808:808", true, "NAT64 of public"],
    ["64:ff9b:1::7f00:1", false, "local-use NAT64"],
    ["64:ff9b:1::808:808", false, "local-use NAT64 (reserved prefix)"],
    ["2001:0:4136:e378:8000:63bf:80ff:fffe", false, "Teredo, client 127.0.0.1"],
    ["2001:0:7f00:1::1", false, "Teredo, server 127.0.0.1"],
    ["2001:0:808:808:0:0:f7f7:f7f7", false, "Teredo (2001::/23 reserved)"],
    ["2606:4700::5efe:7f00:1", false, "ISATAP of loopback"],
    ["2606:4700::200:5efe:a00:1", false, "ISATAP of private"],
    ["2606:4700::1111", true, "plain public"],
  ];
  for (const [ip, pub, form] of table) assert.equal(isPublicAddress(ip), pub, `${ip} (${form})`);
});

Deno.test("checkUrl() refuses embedded-IPv4 forms directly, after DNS, and port 0", async () => {
  const n = net({
    "translated.example": ["::ffff:0:7f00:1"],
    "t64.example": ["64:ff9b::a9fe:a9fe"],
  });
  for (
    const u of [
      "http://[::ffff:0:7f00:1]/",
      "http://[::ffff:7f00:1]/",
      "http://[64:ff9b::a9fe:a9fe]/",
      "http://[2002:7f00:1::]/",
      "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",
      "http://translated.example/",
      "http://t64.example/",
      "http://8.8.8.8:0/",
      "https://[2606:4700::1111]:0/",
    ]
  ) assert.equal(await code(checkUrl(u, n)), "422 url_not_allowed", u);
  assert.equal(await code(checkUrl("http://127.0.0.1:0/", net({}, true))), "422 url_not_allowed");
});

Deno.test("fetchBytes() refuses a redirect to an embedded-IPv4 form", async () => {
  const { fetchBytes } = await import("../../../functions/lib/fetch_limited.ts");
  for (
    const target of [
      "http://[::ffff:0:7f00:1]/x",
      "http://[64:ff9b::7f00:1]/x",
      "http://8.8.8.8:0/",
    ]
  ) {
    const n: NetOptions = {
      ...net({ "good.example": ["93.184.215.14"] }),
      fetch: () =>
        Promise.resolve(new Response(null, { status: 302, headers: { location: target } })),
    };
    const got = await code(
      fetchBytes("http://good.example/a.png", { maxBytes: 100, net: n, what: "u" }),
    );
    assert.equal(got, "422 url_not_allowed", target);
  }
});
