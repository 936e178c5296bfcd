import assert from "node:assert/strict";
import { FsStore } from "../../../core/store/fs_store.ts";
import { fingerprint, Idempotency } from "../../../functions/lib/idempotency.ts";
import { ApiError } from "../../../functions/errors.ts";

async function withStore(f: (store: FsStore) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    await f(new FsStore(dir));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (e) {
    assert.ok(e instanceof ApiError);
    return `${e.status} ${e.code}`;
  }
}

Deno.test("Idempotency replays the first success and refuses a concurrent duplicate", async () => {
  await withStore(async (store) => {
    const idem = new Idempotency(store, 60_000);
    const first = await idem.begin("key-1", "fp");
    assert.equal(first.kind, "new");
    assert.equal(await refusal(idem.begin("key-1", "fp")), "409 idempotency_in_progress");
    if (first.kind === "new") {
      await first.finish({ status: 201, body: { id: "dd_x" }, location: "/x" });
    }
    const again = await idem.begin("key-1", "fp");
    assert.deepEqual(again, {
      kind: "replay",
      response: { status: 201, body: { id: "dd_x" }, location: "/x" },
    });
    assert.equal(await refusal(idem.begin("key-1", "other")), "422 idempotency_mismatch");
    const keys = await store.list("idempotency/");
    assert.equal(keys.length, 1);
    assert.match(keys[0]!, /^idempotency\/[0-9a-f]{64}\.json$/);
  });
});

Deno.test("Idempotency keeps no record of a failure, and a pending record blocks other instances", async () => {
  await withStore(async (store) => {
    const a = new Idempotency(store, 60_000);
    const first = await a.begin("k", "fp");
    const other = new Idempotency(store, 60_000);
    assert.equal(await refusal(other.begin("k", "fp")), "409 idempotency_in_progress");
    if (first.kind === "new") await first.abandon();
    assert.deepEqual(await store.list(""), []);
    assert.equal((await other.begin("k", "fp")).kind, "new");
  });
});

Deno.test("Idempotency refuses malformed keys", async () => {
  await withStore(async (store) => {
    const idem = new Idempotency(store, 1000);
    for (const k of ["", "has space", "x".repeat(256), "é"]) {
      assert.equal(await refusal(idem.begin(k, "fp")), "400 invalid_idempotency_key");
    }
  });
});

Deno.test("fingerprint() ignores key order", async () => {
  assert.equal(
    await fingerprint({ a: 1, b: [1, { c: 2, d: 3 }] }),
    await fingerprint({ b: [1, { d: 3, c: 2 }], a: 1 }),
  );
  assert.notEqual(await fingerprint({ a: 1 }), await fingerprint({ a: 2 }));
});

Deno.test("Idempotency: a pending record is renewed while its request runs and taken over once its lease runs out", async () => {
  await withStore(async (store) => {
    const running = new Idempotency(store, 120);
    const first = await running.begin("k", "fp");
    assert.equal(first.kind, "new");
    const other = new Idempotency(store, 120);
    // The running request renews its lease: still refused after more than one lease.
    await new Promise((r) => setTimeout(r, 200));
    try {
      await other.begin("k", "fp");
      assert.fail("expected 409");
    } catch (e) {
      assert.ok(e instanceof ApiError && e.status === 409);
      assert.ok(e.retryAfter !== undefined && e.retryAfter <= 1, `Retry-After ${e.retryAfter}`);
    }
    // kill -9: the record stays, nothing renews it.
    const key = (await store.list("idempotency/"))[0]!;
    const frozen = (await store.get(key))!;
    if (first.kind === "new") await first.abandon();
    await store.put(key, frozen);
    await new Promise((r) => setTimeout(r, 150));
    const taken = await other.begin("k", "fp");
    assert.equal(taken.kind, "new");
    if (taken.kind === "new") await taken.abandon();
  });
});
