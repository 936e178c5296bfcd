/**
 * `deno task serve` as a child process on 127.0.0.1 (port 0), for tests that kill it: the
 * port is read from its "listening" log line; stderr is drained (and kept) so the child never
 * blocks on a full pipe.
 */
import { fileURLToPath } from "node:url";
import { SD2_DIR } from "./tiny_model.ts";

const SERVER = fileURLToPath(new URL("../../functions/server.ts", import.meta.url));

/** A running server process. */
export interface ServerProcess {
  child: Deno.ChildProcess;
  base: string;
  /** Every log line so far. */
  log: string[];
  /** Resolves with the exit status. */
  status: Promise<Deno.CommandStatus>;
}

/**
 * Starts the server over `storeDir` with the tiny fixture as its default model and waits for
 * `/readyz`.
 *
 * @param storeDir The folder store.
 * @param env More environment variables.
 */
export async function startServerProcess(
  storeDir: string,
  env: Record<string, string> = {},
): Promise<ServerProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-no-legacy-abort", SERVER],
    env: {
      HOST: "127.0.0.1",
      PORT: "0",
      DD_STORE: storeDir,
      DD_MODEL_DIR: SD2_DIR,
      DD_ALLOW_PRIVATE_URLS: "1",
      ...env,
    },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const log: string[] = [];
  let onPort!: (p: number) => void;
  const port = new Promise<number>((r) => (onPort = r));
  void (async () => {
    let buf = "";
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        log.push(line);
        const m = /"msg":"listening".*"port":(\d+)/.exec(line);
        if (m) onPort(Number(m[1]));
      }
    }
  })();
  const status = child.status;
  const p = await Promise.race([
    port,
    status.then((s) => Promise.reject(new Error(`server exited ${s.code}: ${log.join("\n")}`))),
  ]);
  const base = `http://127.0.0.1:${p}`;
  for (let i = 0;; i++) {
    const r = await fetch(`${base}/readyz`);
    await r.body?.cancel();
    if (r.status === 200) break;
    if (i > 600) throw new Error("server never ready");
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, base, log, status };
}
