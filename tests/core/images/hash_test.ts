import assert from "node:assert/strict";
import { sha256Hex } from "../../../core/images/hash.ts";

Deno.test("sha256Hex() matches the FIPS 180-2 vectors", async () => {
  assert.equal(
    await sha256Hex(new Uint8Array(0)),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
  assert.equal(
    await sha256Hex(new TextEncoder().encode("abc")),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
});

Deno.test("sha256Hex() hashes only the view's bytes", async () => {
  const buf = new TextEncoder().encode("xxabcxx");
  assert.equal(
    await sha256Hex(buf.subarray(2, 5)),
    await sha256Hex(new TextEncoder().encode("abc")),
  );
});
