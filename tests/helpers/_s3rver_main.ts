/**
 * s3rver in its own Deno process, started by tests/helpers/s3_server.ts. It runs without the
 * project's deno.json (`--no-config`) and with its own lockfile (tests/helpers/s3rver.lock),
 * so the test-only package is in neither deno.lock nor node_modules, and user tasks never
 * resolve it. The specifier is built at run time so that `deno check tests` does not add it
 * to deno.lock either.
 *
 * Arguments: BUCKET DIRECTORY. Prints one JSON line `{"port": N}` once listening; stops on
 * SIGTERM or when stdin closes.
 */
import { Buffer } from "node:buffer";
import crypto from "node:crypto";

// s3rver encrypts ListObjectsV2 continuation tokens with single DES ('des'), which Deno's
// node:crypto lacks. DES is exactly 3DES (EDE) with three equal keys, which Deno has: map it.
type Make = (alg: string, key: Uint8Array, iv: Uint8Array | null, ...rest: unknown[]) => unknown;
const des = (make: Make): Make => (alg, key, iv, ...rest) =>
  alg === "des"
    ? make("des-ede3-cbc", Buffer.concat([key, key, key]), iv)
    : make(alg, key, iv, ...rest);
crypto.createCipheriv = des(
  crypto.createCipheriv as unknown as Make,
) as unknown as typeof crypto.createCipheriv;
crypto.createDecipheriv = des(
  crypto.createDecipheriv as unknown as Make,
) as unknown as typeof crypto.createDecipheriv;

interface S3rverLike {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
type S3rverClass = new (opts: Record<string, unknown>) => S3rverLike;

const [bucket, directory] = Deno.args;
if (!bucket || !directory) throw new Error("usage: _s3rver_main.ts BUCKET DIRECTORY");
const specifier = ["npm:@20minutes", "s3rver@5.0.0"].join("/");
const S3rver = ((await import(specifier)) as { default: S3rverClass }).default;
const server = new S3rver({
  address: "127.0.0.1",
  port: 0,
  silent: true,
  directory,
  configureBuckets: [{ name: bucket }],
});
const { port } = await server.run();
console.log(JSON.stringify({ port }));
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await server.close();
  Deno.exit(0);
};
Deno.addSignalListener("SIGTERM", () => void stop());
// The parent's end of stdin closes when it exits, even without a SIGTERM.
(async () => {
  for await (const _ of Deno.stdin.readable) { /* nothing is sent */ }
  await stop();
})();
