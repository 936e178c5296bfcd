/**
 * The figures of the README's "Faults survived" table, measured against the real server
 * (`functions/server.ts` in a subprocess on 127.0.0.1, embedded model, a temp folder store):
 * the PNG bomb (peak RSS of the server, /healthz latency while it is refused), a hung S3
 * store, an over-budget training, an unterminated multipart body and a corrupt manifest.
 *
 *     deno run -A tests/bench/fault_figures.ts
 */
import { hungServer } from "../helpers/hung_server.ts";
import { pngBomb } from "../helpers/png_craft.ts";
import { encodePng } from "../../core/images/encode.ts";
import { discImages } from "../helpers/tiny_model.ts";

interface Server {
  base: string;
  pid: number;
  peakMiB: () => number;
  stop: () => Promise<void>;
}

/** Starts the server; waits for /readyz (the default model loaded) when `ready` is set. */
async function start(env: Record<string, string>, ready = true): Promise<Server> {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-no-legacy-abort", "functions/server.ts"],
    env: { HOST: "127.0.0.1", PORT: String(port), DD_ALLOW_PRIVATE_URLS: "1", ...env },
    stdout: "null",
    stderr: "null",
  }).spawn();
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    try {
      const res = await fetch(`${base}/${ready ? "readyz" : "healthz"}`);
      await res.body?.cancel();
      if (res.ok) break;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  const peakMiB = () =>
    Number(/VmHWM:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${child.pid}/status`))![1]) / 1024;
  return {
    base,
    pid: child.pid,
    peakMiB,
    stop: async () => {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

function form(files: Uint8Array[], options: string): FormData {
  const f = new FormData();
  for (const [i, b] of files.entries()) {
    f.append("images", new File([b as Uint8Array<ArrayBuffer>], `f${i}.png`));
  }
  f.append("options", options);
  return f;
}

async function timed(p: Promise<Response>): Promise<[Response, number, string]> {
  const t0 = performance.now();
  const res = await p;
  const text = await res.text();
  return [res, Math.round(performance.now() - t0), text.slice(0, 160)];
}

const store = await Deno.makeTempDir({ prefix: "dd-faults-" });
const fsEnv = { DD_STORE: store };

// 1. PNG bomb: 4096x4096 declared, one IDAT of 1 GiB of zeros.
{
  const s = await start(fsEnv);
  const before = s.peakMiB();
  const ok = encodePng(discImages(1)[0]!);
  const bomb = form([pngBomb(4096, 1024), ok], '{"K":2,"M":1,"S":1,"batchSize":1,"steps":1}');
  const bombKiB = Math.round(pngBomb(4096, 1024).length / 1024);
  let worst = 0;
  let polling = true;
  const poll = (async () => {
    while (polling) {
      const t0 = performance.now();
      await (await fetch(`${s.base}/healthz`)).text();
      worst = Math.max(worst, performance.now() - t0);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const [res, ms, body] = await timed(fetch(`${s.base}/v1/distributions`, {
    method: "POST",
    body: bomb,
  }));
  polling = false;
  await poll;
  const left = [...Deno.readDirSync(store)].map((e) => e.name);
  console.log(
    `png bomb (${bombKiB} KiB): HTTP ${res.status} in ${ms} ms ${body}; server peak RSS ${
      Math.round(before)
    } -> ` +
      `${Math.round(s.peakMiB())} MiB; worst /healthz ${Math.round(worst)} ms; store: [${left}]`,
  );
  // 2. over budget, 3. unterminated multipart, 4. corrupt manifest (same server)
  const img = encodePng(discImages(1)[0]!);
  const [r2, ms2, b2] = await timed(fetch(`${s.base}/v1/distributions`, {
    method: "POST",
    body: form([img, img], '{"S":32,"batchSize":32}'),
  }));
  console.log(`over budget: HTTP ${r2.status} in ${ms2} ms ${b2}`);
  const B = "b0undary";
  const cut = `--${B}\r\nContent-Disposition: form-data; name="options"\r\n\r\n{"steps":1}`;
  const [r3, ms3, b3] = await timed(fetch(`${s.base}/v1/distributions`, {
    method: "POST",
    body: cut,
    headers: { "content-type": `multipart/form-data; boundary=${B}` },
  }));
  console.log(`unterminated multipart: HTTP ${r3.status} in ${ms3} ms ${b3}`);
  await Deno.mkdir(`${store}/distributions/dd_bad`, { recursive: true });
  await Deno.writeTextFile(`${store}/distributions/dd_bad/manifest.json`, "{not json");
  const [r4, ms4, b4] = await timed(fetch(`${s.base}/v1/distributions`));
  console.log(`corrupt manifest listing: HTTP ${r4.status} in ${ms4} ms ${b4}`);
  await s.stop();
}

// 5. hung S3 store (accepts, never answers), deadline 2 s
{
  const hung = hungServer();
  const s = await start({
    DD_STORE: "s3://frozen/dd",
    AWS_ENDPOINT_URL: hung.endpoint,
    AWS_ACCESS_KEY_ID: "k",
    AWS_SECRET_ACCESS_KEY: "s",
    DD_STORE_TIMEOUT_MS: "2000",
  }, false);
  await new Promise((r) => setTimeout(r, 3000)); // the default model loads
  const [r, ms, b] = await timed(fetch(`${s.base}/v1/distributions/dd_a`));
  console.log(`hung store GET: HTTP ${r.status} in ${ms} ms ${b}`);
  const [r2, ms2, b2] = await timed(fetch(`${s.base}/v1/distributions`));
  console.log(`hung store list: HTTP ${r2.status} in ${ms2} ms ${b2}`);
  const [r3, ms3, b3] = await timed(fetch(`${s.base}/readyz`));
  console.log(`hung store /readyz: HTTP ${r3.status} in ${ms3} ms ${b3}`);
  await s.stop();
  hung.close();
}
await Deno.remove(store, { recursive: true });
