/**
 * A Hugging Face Hub stand-in on 127.0.0.1 for tests: it answers the endpoints that
 * @huggingface/hub calls to pin and fetch a model (read from the library's source):
 *
 * - `GET  /api/models/{repo}/revision/{rev}` (modelInfo: `sha`, `siblings`);
 * - `GET  /api/models/{repo}/tree/{rev}[/{path}]?recursive=` (listFiles);
 * - `POST /api/models/{repo}/paths-info/{rev}` (pathsInfo, which downloadFileToCacheDir uses);
 * - `GET|HEAD /{repo}/resolve/{rev}/{path}` with `Range`, `ETag`, `X-Linked-Etag`,
 *   `X-Repo-Commit`, `Content-Range`, and `X-Error-Code` on 404 (fileDownloadInfo, WebBlob).
 *
 * `.safetensors` files are served as LFS files (oid = sha256), others as plain git blobs
 * (oid = git blob sha1), as on the real Hub. Every request is logged in `requests`.
 */
import { createHash } from "node:crypto";

/** One repo: its head commit and files (path → bytes). */
export interface HubRepo {
  commit: string;
  files: Record<string, Uint8Array>;
  /** When set, requests must carry `Authorization: Bearer <token>` (else 401). */
  token?: string;
}

/** A running stand-in. */
export interface HubServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `METHOD /path` of every request so far. */
  requests: string[];
  /** Repos served, by `org/name`; tests may change them between calls. */
  repos: Map<string, HubRepo>;
  /** Paths (`org/name/path`) whose served bytes have their first byte flipped. */
  corrupt: Set<string>;
  /** Paths (`org/name/path`) whose full download breaks off halfway (connection reset). */
  truncate: Set<string>;
  /** Stops the server. */
  close(): Promise<void>;
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const gitOid = (b: Uint8Array) =>
  createHash("sha1").update(`blob ${b.length}\0`).update(b).digest("hex");
const isLfs = (path: string) => path.endsWith(".safetensors");

function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

function notFound(code: string, message: string): Response {
  return json({ error: message }, 404, { "x-error-code": code });
}

/** A tree/paths-info entry, as the Hub sends it. */
interface FileEntry {
  type: "file";
  path: string;
  size: number;
  oid: string;
  lfs?: { oid: string; size: number; pointerSize: number };
  lastCommit: { id: string; title: string; date: string };
}

/** The tree/paths-info entry of one file. */
function entry(repo: HubRepo, path: string): FileEntry {
  const bytes = repo.files[path]!;
  const base = {
    type: "file" as const,
    path,
    size: bytes.length,
    lastCommit: { id: repo.commit, title: "add files", date: "2026-01-01T00:00:00.000Z" },
  };
  if (!isLfs(path)) return { ...base, oid: gitOid(bytes) };
  const pointer = `version https://git-lfs.github.com/spec/v1\noid sha256:${
    sha256(bytes)
  }\nsize ${bytes.length}\n`;
  return {
    ...base,
    oid: gitOid(new TextEncoder().encode(pointer)),
    lfs: { oid: sha256(bytes), size: bytes.length, pointerSize: pointer.length },
  };
}

/**
 * Starts the stand-in on 127.0.0.1 (a free port).
 *
 * @param repos The repos to serve.
 * @returns The running server; `close()` it in a `finally`.
 */
export function startHubServer(repos: Record<string, HubRepo>): Promise<HubServer> {
  const state = new Map(Object.entries(repos));
  const requests: string[] = [];
  const corrupt = new Set<string>();
  const truncate = new Set<string>();

  const findRepo = (req: Request, org: string, name: string, rev: string): HubRepo | Response => {
    const repo = state.get(`${org}/${name}`);
    if (!repo) return notFound("RepoNotFound", `Repository ${org}/${name} not found`);
    if (repo.token && req.headers.get("authorization") !== `Bearer ${repo.token}`) {
      return json({ error: "Invalid credentials" }, 401, { "x-error-code": "GatedRepo" });
    }
    if (rev !== "main" && rev !== "HEAD" && rev !== repo.commit) {
      return notFound("RevisionNotFound", `Invalid rev id: ${rev}`);
    }
    return repo;
  };

  const resolveFile = (req: Request, org: string, name: string, rev: string, path: string) => {
    const repo = findRepo(req, org, name, rev);
    if (repo instanceof Response) return repo;
    let bytes = repo.files[path];
    if (!bytes) return notFound("EntryNotFound", `${path} does not exist on "${rev}"`);
    if (corrupt.has(`${org}/${name}/${path}`)) {
      bytes = bytes.slice();
      bytes[0] = bytes[0]! ^ 0xff;
    }
    const e = entry(repo, path);
    const headers: Record<string, string> = {
      "accept-ranges": "bytes",
      "content-type": "application/octet-stream",
      "etag": `"${e.oid}"`,
      "x-repo-commit": repo.commit,
    };
    if (e.lfs) {
      headers["x-linked-etag"] = `"${e.lfs.oid}"`;
      headers["x-linked-size"] = `${e.size}`;
    }
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.get("range") ?? "");
    if (range) {
      const start = Number(range[1]);
      const end = Math.min(range[2] ? Number(range[2]) : bytes.length - 1, bytes.length - 1);
      headers["content-range"] = `bytes ${start}-${end}/${bytes.length}`;
      const part = bytes.slice(start, end + 1) as Uint8Array<ArrayBuffer>;
      return new Response(req.method === "HEAD" ? null : part, { status: 206, headers });
    }
    headers["content-length"] = `${bytes.length}`;
    if (req.method === "GET" && truncate.has(`${org}/${name}/${path}`)) {
      const half = bytes.slice(0, bytes.length >> 1);
      const cut = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(half);
          setTimeout(() => c.error(new Error("connection reset")), 10);
        },
      });
      return new Response(cut, { status: 200, headers });
    }
    const body = bytes as Uint8Array<ArrayBuffer>;
    return new Response(req.method === "HEAD" ? null : body, { status: 200, headers });
  };

  const api = async (req: Request, m: RegExpExecArray): Promise<Response> => {
    const [, org, name, op, rest] = m as unknown as string[];
    const [rev, ...sub] = decodeURIComponent(rest!).split("/");
    const repo = findRepo(req, org!, name!, rev!);
    if (repo instanceof Response) return repo;
    const paths = Object.keys(repo.files).sort();
    if (op === "revision" && req.method === "GET") {
      return json({
        _id: `id-${org}-${name}`,
        id: `${org}/${name}`,
        sha: repo.commit,
        private: false,
        gated: false,
        downloads: 0,
        likes: 0,
        lastModified: "2026-01-01T00:00:00.000Z",
        pipeline_tag: "text-to-image",
        siblings: paths.map((rfilename) => ({ rfilename })),
      });
    }
    if (op === "paths-info" && req.method === "POST") {
      const body = await req.json() as { paths: string[] };
      return json(body.paths.filter((p) => repo.files[p]).map((p) => entry(repo, p)));
    }
    if (op === "tree" && req.method === "GET") {
      const under = sub.join("/");
      const recursive = new URL(req.url).searchParams.get("recursive") === "true";
      const out: unknown[] = [];
      const dirs = new Set<string>();
      for (const p of paths) {
        if (under && !p.startsWith(`${under}/`)) continue;
        const rel = under ? p.slice(under.length + 1) : p;
        const slash = rel.indexOf("/");
        if (slash >= 0) {
          const dir = (under ? `${under}/` : "") + rel.slice(0, slash);
          if (!dirs.has(dir)) dirs.add(dir), out.push({ type: "directory", path: dir, size: 0 });
          if (!recursive) continue;
        }
        out.push(entry(repo, p));
      }
      return json(out);
    }
    return json({ error: "not implemented" }, 405);
  };

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const url = new URL(req.url);
    requests.push(`${req.method} ${url.pathname}`);
    const a = /^\/api\/models\/([^/]+)\/([^/]+)\/(revision|tree|paths-info)\/(.+)$/.exec(
      url.pathname,
    );
    if (a) return api(req, a);
    const r = /^\/([^/]+)\/([^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (r && (req.method === "GET" || req.method === "HEAD")) {
      return resolveFile(req, r[1]!, r[2]!, decodeURIComponent(r[3]!), decodeURIComponent(r[4]!));
    }
    return json({ error: `no route for ${req.method} ${url.pathname}` }, 404);
  });
  return Promise.resolve({
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    repos: state,
    corrupt,
    truncate,
    close: () => server.shutdown(),
  });
}

/** The tiny diffusers fixture checkpoint of this repository. */
export const TINY_DIR = new URL("../fixtures/diffusers-tiny-sd2", import.meta.url).pathname;

/** The files of {@linkcode TINY_DIR} a diffusers models.lock entry pins. */
export const TINY_FILES = [
  "model_index.json",
  "scheduler/scheduler_config.json",
  "text_encoder/config.json",
  "text_encoder/model.safetensors",
  "tokenizer/merges.txt",
  "tokenizer/special_tokens_map.json",
  "tokenizer/tokenizer_config.json",
  "tokenizer/vocab.json",
  "unet/config.json",
  "unet/diffusion_pytorch_model.safetensors",
  "vae/config.json",
  "vae/diffusion_pytorch_model.safetensors",
];

/**
 * The files of a local folder as a {@linkcode HubRepo} (only `paths`, relative to `dir`).
 *
 * @param dir The folder.
 * @param paths The files to serve.
 * @param commit The commit id to report (40 hex).
 * @returns The repo.
 */
export async function repoFromDir(
  dir: string,
  paths: string[],
  commit = "0123456789abcdef0123456789abcdef01234567",
): Promise<HubRepo> {
  const files: Record<string, Uint8Array> = {};
  for (const p of paths) files[p] = await Deno.readFile(`${dir}/${p}`);
  return { commit, files };
}
