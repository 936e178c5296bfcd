/**
 * Server-side request forgery guard for image and webhook URLs: only http(s), and no host
 * that is or resolves to a private, loopback, link-local, shared, multicast, reserved or
 * metadata address, unless `allowPrivate` is set. IPv6 forms that embed an IPv4 address
 * (mapped, translated, compatible, NAT64, 6to4, Teredo, ISATAP) are judged by the IPv4 address
 * they carry; port 0 is refused. The same check runs on the URL as given, on every redirect
 * target and on every DNS answer.
 * Names are resolved with `Deno.resolveDns` (A and AAAA) and every address must be public.
 * (The fetch resolves again: a name that changes between the two answers is not caught.)
 *
 * @example
 * ```ts
 * import { isPublicAddress } from "./url_guard.ts";
 * console.assert(!isPublicAddress("169.254.169.254") && isPublicAddress("93.184.215.14"));
 * console.assert(!isPublicAddress("::ffff:127.0.0.1") && !isPublicAddress("fe80::1"));
 * ```
 *
 * @module
 */
import { ApiError } from "../errors.ts";

/** How outgoing requests are made and checked. */
export interface NetOptions {
  /** Allow private, loopback and link-local destinations (tests, private deployments). */
  allowPrivate: boolean;
  /** Milliseconds per outgoing request. */
  timeoutMs: number;
  /** DNS lookup (default `Deno.resolveDns`). */
  resolveDns?: (host: string, type: "A" | "AAAA") => Promise<string[]>;
  /** HTTP client (default the global fetch). */
  fetch?: typeof fetch;
}

type Cidr = [bigint, number];

/** "address/bits" as a {@linkcode Cidr}, the address read by `parse`. */
function cidr(parse: (ip: string) => bigint | null): (c: string) => Cidr {
  return (c) => {
    const [ip, bits] = c.split("/");
    return [parse(ip!)!, Number(bits)];
  };
}

const V4_BLOCKED = [
  "0.0.0.0/8",
  "10.0.0.0/8",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "172.16.0.0/12",
  "192.0.0.0/24",
  "192.0.2.0/24",
  "192.88.99.0/24",
  "192.168.0.0/16",
  "198.18.0.0/15",
  "198.51.100.0/24",
  "203.0.113.0/24",
  "224.0.0.0/4",
  "240.0.0.0/4",
].map(cidr(parseV4));

const V6_BLOCKED = [
  "::/96",
  "64:ff9b:1::/48",
  "100::/64",
  "2001::/23",
  "2001:db8::/32",
  "fc00::/7",
  "fe80::/10",
  "fec0::/10",
  "ff00::/8",
].map(cidr(parseV6));

function parseV4(s: string): bigint | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return parts.reduce((a, p) => (a << 8n) | BigInt(p), 0n);
}

function parseV6(s: string): bigint | null {
  let text = s.toLowerCase().replace(/%.*$/, "");
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = parseV4(v4[1]!);
    if (n === null) return null;
    text = text.slice(0, -v4[1]!.length) +
      `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const fill = 8 - head.length - tail.length;
  if (halves.length === 1 ? fill !== 0 : fill < 1) return null;
  const groups = [...head, ...Array(halves.length === 2 ? fill : 0).fill("0"), ...tail];
  if (!groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return null;
  return groups.reduce((a, g) => (a << 16n) | BigInt(parseInt(g, 16)), 0n);
}

function inCidr(ip: bigint, [net, bits]: Cidr, width: number): boolean {
  const shift = BigInt(width - bits);
  return ip >> shift === net >> shift;
}

/**
 * The IPv4 addresses an IPv6 address carries, by the form that embeds them: mapped
 * (`::ffff:a.b.c.d`), translated (`::ffff:0:a.b.c.d`), compatible (`::a.b.c.d`), NAT64
 * (`64:ff9b::/96` and the local-use `64:ff9b:1::/48`), 6to4 (`2002::/16`, bits 16-47), Teredo
 * (`2001::/32`: the server at bits 32-63 and the client, inverted, at bits 96-127) and ISATAP
 * (interface id `0:5efe` or `200:5efe`). Each one must be public for the IPv6 address to be.
 */
function embeddedV4(v6: bigint): bigint[] {
  const low = v6 & 0xffffffffn;
  const out: bigint[] = [];
  const top96 = v6 >> 32n;
  if (top96 === 0xffffn || top96 === 0xffff0000n || top96 === 0n) out.push(low);
  if (top96 === 0x64ff9b0000000000000000n || v6 >> 80n === 0x64ff9b0001n) out.push(low);
  if (v6 >> 112n === 0x2002n) out.push((v6 >> 80n) & 0xffffffffn);
  if (v6 >> 96n === 0x20010000n) out.push((v6 >> 64n) & 0xffffffffn, low ^ 0xffffffffn);
  const iid = (v6 >> 32n) & 0xffffffffn;
  if (iid === 0x5efen || iid === 0x02005efen) out.push(low);
  return out;
}

/**
 * Whether an IP address (v4 or v6 literal, no brackets) is publicly routable. An IPv6 address
 * that embeds IPv4 addresses (see {@linkcode embeddedV4}) is public only when each embedded
 * address is public and its own prefix is not reserved.
 *
 * @param ip The address.
 * @returns false for private, loopback, link-local, reserved or unparsable addresses.
 */
export function isPublicAddress(ip: string): boolean {
  const v4 = parseV4(ip);
  if (v4 !== null) return isPublicV4(v4);
  const v6 = parseV6(ip);
  if (v6 === null) return false;
  const embedded = embeddedV4(v6);
  if (embedded.some((a) => !isPublicV4(a))) return false;
  // mapped, translated and well-known NAT64 addresses reach the embedded host: it decides
  const top96 = v6 >> 32n;
  if (top96 === 0xffffn || top96 === 0xffff0000n || top96 === 0x64ff9b0000000000000000n) {
    return true;
  }
  return !V6_BLOCKED.some((c) => inCidr(v6, c, 128));
}

function isPublicV4(v4: bigint): boolean {
  return !V4_BLOCKED.some((c) => inCidr(v4, c, 32));
}

const BLOCKED_NAMES = /(^|\.)(localhost|local|internal|localdomain)$/i;

function refuse(what: string, why: string): never {
  throw new ApiError(422, "url_not_allowed", `${what}: ${why}`);
}

/**
 * Parses and checks a URL for an outgoing request.
 *
 * @param raw The URL as given.
 * @param net The rules and the resolver.
 * @param what How to name the URL in errors (`images[2].url`, `webhook`).
 * @returns The parsed URL.
 * @throws {ApiError} 422 `url_not_allowed` (scheme, private address) or `url_unresolvable`.
 */
export async function checkUrl(raw: string, net: NetOptions, what = "url"): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ApiError(400, "invalid_url", `${what}: not a valid URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") refuse(what, "only http and https");
  if (url.port === "0") refuse(what, "port 0 is not a destination");
  if (net.allowPrivate) return url;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (parseV4(host) !== null || host.includes(":")) {
    if (!isPublicAddress(host)) refuse(what, `${host} is not a public address`);
    return url;
  }
  if (BLOCKED_NAMES.test(host.replace(/\.$/, ""))) refuse(what, `${host} is a local name`);
  const resolve = net.resolveDns ??
    ((h: string, t: "A" | "AAAA") => Deno.resolveDns(h, t) as Promise<string[]>);
  const answers = await Promise.allSettled([resolve(host, "A"), resolve(host, "AAAA")]);
  const addresses = answers.flatMap((a) => (a.status === "fulfilled" ? a.value : []));
  if (addresses.length === 0) {
    throw new ApiError(422, "url_unresolvable", `${what}: cannot resolve ${host}`);
  }
  const bad = addresses.find((a) => !isPublicAddress(a));
  if (bad !== undefined) refuse(what, `${host} resolves to a non-public address`);
  return url;
}
