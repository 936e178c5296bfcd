/**
 * A real S3-compatible server on 127.0.0.1 for tests: s3rver (the maintained
 * @20minutes/s3rver fork), with its objects in a temp folder. It checks SigV4 signatures
 * (headers and pre-signed queries) with the account S3RVER / S3RVER.
 *
 * It runs in a child Deno process (tests/helpers/_s3rver_main.ts) pinned by its own lockfile,
 * tests/helpers/s3rver.lock: the test-only package (93 npm packages with its dependencies)
 * stays out of deno.lock and node_modules, so user tasks neither install it nor warn about its
 * bin and install scripts.
 */
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("./_s3rver_main.ts", import.meta.url));
const LOCK = fileURLToPath(new URL("./s3rver.lock", import.meta.url));

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
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-q", "--no-config", `--lock=${LOCK}`, "--frozen", "-A", MAIN, bucket, directory],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  reader.releaseLock();
  void child.stdout.cancel().catch(() => {});
  const port = /"port":\s*(\d+)/.exec(text)?.[1];
  if (port === undefined) {
    const why = (await Promise.race([
      stderr,
      new Promise((r) => setTimeout(r, 2000, "")),
    ])) as string;
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
    await Deno.remove(directory, { recursive: true });
    throw new Error(`s3rver did not start: ${why.trim().split("\n").slice(-3).join(" | ")}`);
  }
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    close: async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await child.stdin.close().catch(() => {});
      await child.status;
      await stderr;
      await Deno.remove(directory, { recursive: true });
    },
  };
}
