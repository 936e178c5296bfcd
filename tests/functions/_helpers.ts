/** Shared set-up of the HTTP tests: an engine over a temp store and the tiny fixture model. */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Engine } from "../../core/engine/engine.ts";
import { encodePng } from "../../core/images/encode.ts";
import { FsStore } from "../../core/store/fs_store.ts";
import { type Config, parseConfig } from "../../functions/config.ts";
import type { Log } from "../../functions/env.ts";
import {
  type DistributionTensors,
  saveDistribution,
} from "../../core/artifacts/distribution_artifact.ts";
import { discImages, SD2_DIR } from "../helpers/tiny_model.ts";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { type AppOptions, createApp, resolveDeps } from "../../functions/app.ts";
import type { AppDeps, AppEnv } from "../../functions/env.ts";

/** Fast training options for the tiny model. */
export const TINY = { k: 3, m: 2, s: 2, batch_size: 2, steps: 3 };

/** A logger that drops everything. */
export const silent: Log = () => {};

/** Train-graph cache shared by the HTTP tests (graphs are keyed by content, so it is reused). */
const cacheDir = join(tmpdir(), "dd-functions-test-graphs");

/** An engine over a fresh temp store; `close` releases it and removes the store. */
export async function makeEngine(): Promise<
  { engine: Engine; store: FsStore; close: () => Promise<void> }
> {
  const dir = await Deno.makeTempDir({ prefix: "dd-fn-store-" });
  const store = new FsStore(dir);
  const engine = new Engine({
    store,
    resolveModel: () => Promise.resolve({ dir: SD2_DIR, revision: "fixture" }),
    defaultModel: "tiny-sd2-fixture",
    cacheDir,
  });
  return {
    engine,
    store,
    close: async () => {
      await engine.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** A configuration for tests (private URLs allowed unless overridden). */
export function testConfig(env: Record<string, string> = {}): Config {
  return parseConfig({ DD_ALLOW_PRIVATE_URLS: "1", HOST: "127.0.0.1", PORT: "0", ...env });
}

/** `n` small PNG reference images. */
export function pngs(n: number): Uint8Array[] {
  return discImages(n).map(encodePng);
}

/** Every key in the store (to check that a refused request left nothing). */
export function listAll(store: FsStore): Promise<string[]> {
  return store.list("");
}

/** Writes a distribution of random tensors for `model` without training. */
export async function fakeDistribution(store: FsStore, id: string, model: string): Promise<void> {
  const [K, M, L, d] = [3, 2, 77, 32];
  const rand = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 0.1);
  const tensors: DistributionTensors = {
    ctx: { data: rand(K * M * d), shape: [K, M, d] },
    mu: { data: rand(L * d), shape: [L, d] },
    sigma: { data: rand(L * d).map(Math.abs), shape: [L, d] },
  };
  await saveDistribution(store, {
    id,
    createdAt: new Date().toISOString(),
    model: { name: model, revision: "fixture" },
    K,
    M,
    L,
    d,
    template: { prefix: "", suffix: "" },
    options: { steps: 1 },
    references: [],
    lossCurve: [1],
  }, tensors);
}

/** Base64 of bytes. */
export function b64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/** An app over a fresh engine; `close` waits for background jobs, then releases everything. */
export async function makeApp(
  env: Record<string, string> = {},
  options: Partial<Omit<AppOptions, "engine" | "config">> = {},
): Promise<
  { app: OpenAPIHono<AppEnv>; deps: AppDeps; store: FsStore; close: () => Promise<void> }
> {
  const { engine, store, close } = await makeEngine();
  const deps = resolveDeps({ engine, config: testConfig(env), log: silent, ...options });
  return {
    app: createApp(deps),
    deps,
    store,
    close: async () => {
      await deps.jobs.idle();
      await close();
    },
  };
}

/** A JSON POST. */
export function postJson(body: unknown, headers: Record<string, string> = {}): RequestInit {
  return {
    method: "POST",
    body: typeof body === "string" ? body : JSON.stringify(body),
    headers: { "Content-Type": "application/json", ...headers },
  };
}

/** Parses a Server-Sent-Events body into events. */
export function parseSse(text: string): { event: string; data: unknown }[] {
  return text.split("\n\n").filter((b) => b.trim() && !b.startsWith(":")).map((block) => {
    const lines = block.split("\n");
    const event = lines.find((l) => l.startsWith("event: "))?.slice(7) ?? "message";
    const data = lines.filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
    return { event, data: JSON.parse(data) };
  });
}
