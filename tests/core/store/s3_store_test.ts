/**
 * S3Store: the Store contract against a real S3-compatible server (s3rver on 127.0.0.1), and
 * retries, timeouts and corruption against small fake servers.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { AwsClient } from "aws4fetch";
import { S3Store, type S3StoreOptions } from "../../../core/store/s3_store.ts";
import { openStore } from "../../../core/store/open.ts";
import { StoreError } from "../../../core/store/store.ts";
import { withProcessEnv } from "../../helpers/process_env.ts";
import { type S3Server, startS3Server } from "../../helpers/s3_server.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const code = (c: string) => (e: unknown) => e instanceof StoreError && e.code === c;
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

async function withS3(fn: (s3: S3Server, open: (prefix?: string) => S3Store) => Promise<void>) {
  const s3 = await startS3Server();
  try {
    await fn(s3, (prefix = "runs") =>
      new S3Store({
        bucket: s3.bucket,
        prefix,
        endpoint: s3.endpoint,
        credentials: s3.credentials,
        retryBaseMs: 5,
      }));
  } finally {
    await s3.close();
  }
}

Deno.test("S3Store put(), get(), exists(), delete() against s3rver", async () => {
  await withS3(async (s3, open) => {
    const store = open();
    assert.equal(store.url, "s3://test-bucket/runs");
    assert.equal(await store.get("a/b.json"), null);
    assert.equal(await store.exists("a/b.json"), false);
    await store.put("a/b.json", enc("one"), { contentType: "application/json" });
    assert.deepEqual(await store.get("a/b.json"), enc("one"));
    assert.equal(await store.exists("a/b.json"), true);
    await store.put("a/b.json", enc("two, longer"));
    assert.deepEqual(await store.get("a/b.json"), enc("two, longer"));
    await store.put("empty", new Uint8Array());
    assert.deepEqual(await store.get("empty"), new Uint8Array());
    // The object sits under the prefix, with its sha256 in metadata.
    const client = new AwsClient({ ...s3.credentials, service: "s3", region: "us-east-1" });
    const head = await client.fetch(`${s3.endpoint}/${s3.bucket}/runs/a/b.json`, {
      method: "HEAD",
    });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("x-amz-meta-sha256"), sha(enc("two, longer")));
    await store.delete("a/b.json");
    await store.delete("a/b.json"); // idempotent
    assert.equal(await store.exists("a/b.json"), false);
    await assert.rejects(store.put("../x", enc("x")), code("invalid_key"));
    await assert.rejects(store.get("a//b"), code("invalid_key"));
  });
});

Deno.test("S3Store list() pages, sorts, honours prefix, after and limit", async () => {
  await withS3(async (s3, open) => {
    const store = new S3Store({
      bucket: s3.bucket,
      prefix: "p",
      endpoint: s3.endpoint,
      credentials: s3.credentials,
      pageSize: 2,
    });
    // (No sibling like "d-" of the folder "d/": s3rver walks its folders depth-first, so it
    // would list "d/..." before "d-", unlike S3's byte order.)
    const keys = ["d/1", "d/10", "d/2", "d/a/x", "e", "d0", "dd"];
    for (const k of keys) await store.put(k, enc(k));
    await open("other").put("d/zz", enc("elsewhere")); // another prefix: never listed
    assert.deepEqual(await store.list(""), [...keys].sort());
    assert.deepEqual(await store.list("d/"), ["d/1", "d/10", "d/2", "d/a/x"]);
    assert.deepEqual(await store.list("d/", { after: "d/10" }), ["d/2", "d/a/x"]);
    assert.deepEqual(await store.list("d", { limit: 3 }), ["d/1", "d/10", "d/2"]);
    assert.deepEqual(await store.list("", { after: "d/2", limit: 2 }), ["d/a/x", "d0"]);
    assert.deepEqual(await store.list("zzz"), []);
    // Paging through everything with after + limit, as the HTTP API does.
    const seen: string[] = [];
    for (let page = await store.list("", { limit: 3 }); page.length > 0;) {
      seen.push(...page);
      page = await store.list("", { limit: 3, after: page.at(-1)! });
    }
    assert.deepEqual(seen, [...keys].sort());
    await assert.rejects(store.list("", { limit: 0 }), RangeError);
  });
});

Deno.test("S3Store get() refuses an object whose bytes differ from its recorded sha256", async () => {
  await withS3(async (s3, open) => {
    const store = open();
    // Written by another client with a wrong checksum in metadata.
    const client = new AwsClient({ ...s3.credentials, service: "s3", region: "us-east-1" });
    const res = await client.fetch(`${s3.endpoint}/${s3.bucket}/runs/bad.bin`, {
      method: "PUT",
      body: enc("tampered"),
      headers: { "x-amz-meta-sha256": sha(enc("original")) },
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    await assert.rejects(store.get("bad.bin"), (e: unknown) => {
      assert.ok(code("corrupt")(e));
      assert.match((e as Error).message, /'bad\.bin' is corrupt: sha256 /);
      return true;
    });
  });
});

Deno.test("S3Store presignGet() gives a URL a plain client can GET", async () => {
  await withS3(async (_s3, open) => {
    const store = open();
    await store.put("img/x.png", enc("png bytes"));
    const url = await store.presignGet("img/x.png", 120);
    assert.match(url, /X-Amz-Expires=120/);
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "png bytes");
    const forged = url.replace(/X-Amz-Signature=[0-9a-f]+/, `X-Amz-Signature=${"0".repeat(64)}`);
    const denied = await fetch(forged);
    assert.equal(denied.status, 403);
    await denied.body?.cancel();
    await assert.rejects(store.presignGet("img/x.png", 0), RangeError);
  });
});

Deno.test("S3Store fails with io on a missing bucket or wrong credentials", async () => {
  await withS3(async (s3) => {
    const base = { endpoint: s3.endpoint, credentials: s3.credentials, maxAttempts: 1 };
    const none = new S3Store({ ...base, bucket: "no-such-bucket" });
    await assert.rejects(
      none.get("k"),
      (e: unknown) => code("io")(e) && /NoSuchBucket/.test(String(e)),
    );
    await assert.rejects(none.list(""), code("io"));
    const wrong = { accessKeyId: "S3RVER", secretAccessKey: "nope" };
    const bad = new S3Store({ ...base, bucket: s3.bucket, credentials: wrong });
    await assert.rejects(
      bad.put("k", enc("x")),
      (e: unknown) => code("io")(e) && /HTTP 403/.test(String(e)),
    );
  });
});

Deno.test("openStore() opens s3:// URLs from the environment's endpoint and keys", async () => {
  await withS3(async (s3) => {
    const env = {
      AWS_ENDPOINT_URL: s3.endpoint,
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_SECRET_ACCESS_KEY: "S3RVER",
      AWS_REGION: "us-east-1",
    };
    const store = S3Store.fromUrl(`s3://${s3.bucket}/via/url/`, env);
    assert.equal(store.url, `s3://${s3.bucket}/via/url`);
    await store.put("k", enc("v"));
    assert.deepEqual(await store.get("k"), enc("v"));
    assert.throws(() => S3Store.fromUrl("s3://b/p", {}), /AWS_ACCESS_KEY_ID/);
    assert.throws(() => S3Store.fromUrl("s3://B_ad/p", env), /bucket/);
    assert.throws(() => S3Store.fromUrl("s3://bucket/../x", env), /bad prefix/);
    await withProcessEnv(env, async () => {
      const opened = await openStore(`s3://${s3.bucket}/via/url`);
      assert.ok(opened instanceof S3Store);
      assert.deepEqual(await opened.get("k"), enc("v"));
    }, ["AWS_ENDPOINT_URL_S3"]);
  });
});

/** A fake S3 endpoint on 127.0.0.1 answering with `handler`; counts requests. */
async function withFake(
  handler: (req: Request, n: number) => Response | Promise<Response>,
  fn: (store: S3Store, count: () => number) => Promise<void>,
  opts: Partial<S3StoreOptions> = {},
): Promise<void> {
  let n = 0;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => handler(req, ++n),
  );
  try {
    const store = new S3Store({
      bucket: "fake",
      endpoint: `http://127.0.0.1:${server.addr.port}`,
      credentials: { accessKeyId: "k", secretAccessKey: "s" },
      retryBaseMs: 5,
      ...opts,
    });
    await fn(store, () => n);
  } finally {
    await server.shutdown();
  }
}

const error500 = () =>
  new Response("<Error><Code>InternalError</Code><Message>try again</Message></Error>", {
    status: 500,
  });

Deno.test("S3Store retries 5xx: 500 twice, then success", async () => {
  const body = enc("payload");
  await withFake((req, n) => {
    if (n <= 2) return error500();
    if (req.method === "PUT") return new Response(null, { status: 200 });
    return new Response(body, { headers: { "x-amz-meta-sha256": sha(body) } });
  }, async (store, count) => {
    await store.put("k", body);
    assert.equal(count(), 3);
    assert.deepEqual(await store.get("k"), body);
    assert.equal(count(), 4);
  });
});

Deno.test("S3Store sends the body's sha256 with a PUT", async () => {
  const seen: Record<string, string | null> = {};
  await withFake(async (req) => {
    const got = new Uint8Array(await req.arrayBuffer());
    seen.content = req.headers.get("x-amz-content-sha256");
    seen.meta = req.headers.get("x-amz-meta-sha256");
    seen.body = sha(got);
    seen.auth = req.headers.get("authorization");
    return new Response(null, { status: 200 });
  }, async (store) => {
    await store.put("a/b", enc("bytes"));
  });
  assert.equal(seen.content, sha(enc("bytes")));
  assert.equal(seen.meta, seen.body);
  assert.match(seen.auth!, /^AWS4-HMAC-SHA256 Credential=k\/\d{8}\/us-east-1\/s3\/aws4_request/);
});

Deno.test("S3Store gives up after 4 attempts with io", async () => {
  await withFake(() => error500(), async (store, count) => {
    await assert.rejects(store.get("k"), (e: unknown) => {
      assert.ok(code("io")(e));
      assert.match((e as Error).message, /HTTP 500: InternalError: try again \(gave up after 4/);
      return true;
    });
    assert.equal(count(), 4);
  });
});

Deno.test("S3Store retries an attempt that times out", async () => {
  await withFake(async (_req, n) => {
    if (n === 1) await new Promise((r) => setTimeout(r, 300));
    return new Response(null, { status: 200 });
  }, async (store, count) => {
    await store.put("k", enc("v"));
    assert.equal(count(), 2);
  }, { timeoutMs: 100 });
});

Deno.test("S3Store refuses a body corrupted in transit (sha256 mismatch)", async () => {
  await withFake(() => {
    return new Response(enc("corrupted!"), {
      headers: { "x-amz-meta-sha256": sha(enc("original")) },
    });
  }, async (store) => {
    await assert.rejects(store.get("k"), code("corrupt"));
  });
});

Deno.test("S3Store retries network errors, then fails with io", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(),
  );
  const port = server.addr.port;
  await server.shutdown(); // nothing listens there any more
  const store = new S3Store({
    bucket: "fake",
    endpoint: `http://127.0.0.1:${port}`,
    credentials: { accessKeyId: "k", secretAccessKey: "s" },
    retryBaseMs: 5,
    maxAttempts: 3,
  });
  await assert.rejects(
    store.get("k"),
    (e: unknown) => code("io")(e) && /after 3 attempts/.test(String(e)),
  );
});
