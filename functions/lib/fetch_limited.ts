/**
 * Outgoing HTTP with the guard applied at every hop: {@linkcode fetchBytes} downloads an
 * image with a size limit and a timeout, following at most 3 redirects, each one checked by
 * {@linkcode checkUrl}; {@linkcode postOnce} sends one webhook attempt (no redirects).
 *
 * @module
 */
import { ApiError } from "../errors.ts";
import { checkUrl, type NetOptions } from "./url_guard.ts";

const MAX_REDIRECTS = 3;

/** A timer-bound signal, optionally tied to an outer one; call `clear` when done. */
function timed(ms: number, outer?: AbortSignal): { signal: AbortSignal; clear: () => void } {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(new Error(`timed out after ${ms} ms`)), ms);
  const onOuter = () => ctl.abort(outer!.reason);
  outer?.addEventListener("abort", onOuter, { once: true });
  if (outer?.aborted) onOuter();
  return {
    signal: ctl.signal,
    clear: () => {
      clearTimeout(timer);
      outer?.removeEventListener("abort", onOuter);
    },
  };
}

/**
 * Downloads a URL's body, refusing more than `maxBytes`.
 *
 * @param raw The URL.
 * @param opts Limit, rules, name for errors, outer cancellation.
 * @returns The bytes.
 * @throws {ApiError} 422 `url_not_allowed` / `url_fetch_failed`, 413 `image_too_large`.
 */
export async function fetchBytes(
  raw: string,
  opts: { maxBytes: number; net: NetOptions; what: string; signal?: AbortSignal },
): Promise<Uint8Array> {
  const doFetch = opts.net.fetch ?? fetch;
  const { signal, clear } = timed(opts.net.timeoutMs, opts.signal);
  const failed = (why: string) => new ApiError(422, "url_fetch_failed", `${opts.what}: ${why}`);
  try {
    let url = await checkUrl(raw, opts.net, opts.what);
    for (let hop = 0;; hop++) {
      let res: Response;
      try {
        res = await doFetch(url, { redirect: "manual", signal });
      } catch (e) {
        throw failed(signal.aborted ? "timed out" : `request failed (${(e as Error).name})`);
      }
      if (res.status >= 300 && res.status < 400 && res.headers.has("location")) {
        await res.body?.cancel();
        if (hop >= MAX_REDIRECTS) throw failed("too many redirects");
        url = await checkUrl(new URL(res.headers.get("location")!, url).href, opts.net, opts.what);
        continue;
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw failed(`answered HTTP ${res.status}`);
      }
      return await readLimited(res, opts.maxBytes, opts.what, signal);
    }
  } finally {
    clear();
  }
}

async function readLimited(
  res: Response,
  maxBytes: number,
  what: string,
  signal: AbortSignal,
): Promise<Uint8Array> {
  const tooLarge = () =>
    new ApiError(413, "image_too_large", `${what}: more than ${maxBytes} bytes`);
  const declared = res.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) {
    await res.body?.cancel();
    throw tooLarge();
  }
  if (res.body === null) return new Uint8Array(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > maxBytes) throw tooLarge();
      chunks.push(value);
    }
  } catch (e) {
    await reader.cancel().catch(() => {});
    if (e instanceof ApiError) throw e;
    throw new ApiError(
      422,
      "url_fetch_failed",
      `${what}: ${signal.aborted ? "timed out" : "read failed"}`,
    );
  }
  const out = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/**
 * One POST of a body to a checked URL; redirects are not followed.
 *
 * @returns The HTTP status, or 0 when the request failed or timed out.
 */
export async function postOnce(
  url: string,
  body: Uint8Array,
  headers: Record<string, string>,
  net: NetOptions,
): Promise<number> {
  const { signal, clear } = timed(net.timeoutMs);
  try {
    const checked = await checkUrl(url, net, "webhook");
    const res = await (net.fetch ?? fetch)(checked, {
      method: "POST",
      body: body as Uint8Array<ArrayBuffer>,
      headers,
      redirect: "manual",
      signal,
    });
    await res.body?.cancel();
    return res.status;
  } catch {
    return 0;
  } finally {
    clear();
  }
}
