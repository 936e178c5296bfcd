/**
 * A real S3-compatible server on 127.0.0.1 for tests: s3rver (the maintained
 * @20minutes/s3rver fork, from npm through deno.json), in this process, with its objects in a
 * temp folder. It checks SigV4 signatures (headers and pre-signed queries) with the account
 * S3RVER / S3RVER.
 */
import { Buffer } from "node:buffer";
import crypto from "node:crypto";
import S3rver from "npm:@20minutes/s3rver@5.0.0";

// s3rver encrypts ListObjectsV2 continuation tokens with single DES ('des'), which Deno's
// node:crypto lacks. DES is exactly 3DES (EDE) with three equal keys, which Deno has: map it.
if (!(crypto.createCipheriv as { desShim?: true }).desShim) {
  type Make = (alg: string, key: Uint8Array, iv: Uint8Array | null, ...rest: unknown[]) => unknown;
  const des = (make: Make): Make => (alg, key, iv, ...rest) =>
    alg === "des"
      ? make("des-ede3-cbc", Buffer.concat([key, key, key]), iv)
      : make(alg, key, iv, ...rest);
  const cipher = des(crypto.createCipheriv as unknown as Make);
  const decipher = des(crypto.createDecipheriv as unknown as Make);
  crypto.createCipheriv = Object.assign(cipher, {
    desShim: true,
  }) as unknown as typeof crypto.createCipheriv;
  crypto.createDecipheriv = decipher as unknown as typeof crypto.createDecipheriv;
}

/** A running server. */
export interface S3Server {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  /** A bucket created at start. */
  bucket: string;
  /** Access key id and secret the server accepts. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Stops the server and removes its folder. */
  close(): Promise<void>;
}

/**
 * Starts s3rver on a free port of 127.0.0.1 with one bucket.
 *
 * @param bucket The bucket to create.
 * @returns The running server; `close()` it in a `finally`.
 */
export async function startS3Server(bucket = "test-bucket"): Promise<S3Server> {
  const directory = await Deno.makeTempDir({ prefix: "s3rver-" });
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  });
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    close: async () => {
      await server.close();
      await Deno.remove(directory, { recursive: true });
    },
  };
}
