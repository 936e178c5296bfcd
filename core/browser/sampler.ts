/**
 * The in-browser sampler: the server's sampling code (core/distribution's render.ts,
 * core/pipeline, core/schedulers, core/random, core/tokenizer) run in the page, with
 * onnxruntime-web sessions (core/onnx/web_runtime.ts) in place of onnxruntime-node ones. It
 * fetches the model's ONNX files and a distribution's parameters from the HTTP API
 * (`GET /v1/models/{name}/browser`, `GET /v1/distributions/{id}/parameters`), so the same
 * seed, gamma and steps give the server's image up to float rounding.
 *
 * @module
 */
import { readSafetensors } from "../artifacts/browser.ts";
import {
  DEFAULT_SAMPLER,
  type PromptDistribution,
  renderDistribution,
  type SamplerKind,
  storedDistribution,
} from "../distribution/browser.ts";
import { type BrowserModelManifest, planTimesteps } from "../engine/browser.ts";
import type { RgbImage } from "../images/browser.ts";
import { type Component, SdRuntime } from "../models/browser.ts";
import { type OrtWebModule, type WebProvider, WebSession } from "../onnx/browser.ts";
import { parseSchedulerConfig, type SchedulerConfig, SchedulerKind } from "../schedulers/mod.ts";
import { ClipTokenizer } from "../tokenizer/mod.ts";

/** How the sampler reaches the server and runs models. */
export interface BrowserSamplerOptions {
  /** The onnxruntime-web module the page loaded. */
  ort: OrtWebModule;
  /** Execution provider (default "wasm"). */
  provider?: WebProvider;
  /**
   * Fetches a path of this server's API (the page adds its key); rejects with the API's error
   * message when the answer is not ok.
   */
  fetch: (path: string) => Promise<Response>;
}

/** A stored distribution, ready to sample in the page. */
export interface BrowserDistribution {
  id: string;
  K: number;
  distribution: PromptDistribution;
}

/** What to sample; defaults are the model's, as on the server. */
export interface BrowserSampleOptions {
  gamma: number;
  n: number;
  seed: number;
  steps: number;
  guidance?: number;
  guidanceRescale?: number;
  scheduler?: SchedulerKind;
  sampler?: SamplerKind;
  negativePrompt?: string;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/**
 * A model loaded in the page.
 * @example
 * ```ts ignore
 * const ort = await import("/playground/ort/ort.wasm.bundle.min.mjs");
 * const s = await BrowserSampler.load("dd-world-tiny", { ort, fetch: api });
 * const images = await s.sample(await s.distribution(id), { gamma: 1, n: 1, seed: 0, steps: 10 });
 * ```
 */
export class BrowserSampler {
  private constructor(
    readonly manifest: BrowserModelManifest,
    readonly runtime: SdRuntime,
    readonly tokenizer: ClipTokenizer,
    readonly schedulerConfig: SchedulerConfig,
    private readonly fetch: (path: string) => Promise<Response>,
  ) {}

  /**
   * Fetches a model's description; its ONNX files are fetched when first run.
   * @param model The model's name.
   * @param o Runtime and fetch.
   * @returns The sampler.
   */
  static async load(model: string, o: BrowserSamplerOptions): Promise<BrowserSampler> {
    const base = `/v1/models/${encodeURIComponent(model)}/browser`;
    const manifest = await (await o.fetch(base)).json() as BrowserModelManifest;
    const specs: Partial<Record<Component, BrowserModelManifest["components"]["unet"]>> =
      manifest.components;
    const present = new Set((Object.keys(specs) as Component[]).filter((c) => specs[c]));
    const open = async (c: Component) => {
      const spec = specs[c]!;
      const res = await o.fetch(`${base}/${encodeURIComponent(spec.file)}`);
      const bytes = new Uint8Array(await res.arrayBuffer());
      return await WebSession.create(
        o.ort,
        bytes,
        new Map(Object.entries(spec.inputs)),
        o.provider,
      );
    };
    return new BrowserSampler(
      manifest,
      new SdRuntime(manifest.info, present, open),
      ClipTokenizer.fromFiles(manifest.tokenizer),
      parseSchedulerConfig(manifest.schedulerConfig),
      o.fetch,
    );
  }

  /**
   * Fetches a stored distribution's parameters, sampled as the server samples it without a
   * template (core/distribution's `storedDistribution`).
   * @throws {Error} When it belongs to another model, or lacks the features that a sampler
   *   other than "diagonal" needs (the server refits those; the page asks the server).
   */
  async distribution(id: string): Promise<BrowserDistribution> {
    const res = await this.fetch(`/v1/distributions/${encodeURIComponent(id)}/parameters`);
    const { tensors, metadata } = readSafetensors(new Uint8Array(await res.arrayBuffer()));
    if (metadata.model !== this.manifest.name || metadata.revision !== this.manifest.revision) {
      throw new Error(
        `distribution ${id} belongs to ${metadata.model}@${metadata.revision}, ` +
          `not ${this.manifest.name}@${this.manifest.revision}`,
      );
    }
    const K = Number(metadata.K);
    const { maxLength: L, hiddenSize: d } = this.manifest.info;
    const mu = tensors.get("mu"), sigma = tensors.get("sigma"), features = tensors.get("features");
    if (!mu || !sigma) throw new Error(`distribution ${id}: parameters lack mu or sigma`);
    return {
      id,
      K,
      distribution: storedDistribution(K, { mu, sigma, ...(features ? { features } : {}) }, [L, d]),
    };
  }

  /**
   * Samples images in the page.
   * @throws {Error} For steps the scheduler cannot plan, a sampler the distribution cannot
   *   serve, or when aborted.
   */
  async sample(dist: BrowserDistribution, o: BrowserSampleOptions): Promise<RgbImage[]> {
    const sampler = o.sampler ?? DEFAULT_SAMPLER;
    if (sampler !== "diagonal" && !dist.distribution.spread) {
      throw new Error(
        `distribution ${dist.id} has no stored features for the ${sampler} sampler; sample on the server`,
      );
    }
    const defaults = this.manifest.defaults;
    const kind = o.scheduler ?? (defaults.scheduler as SchedulerKind) ?? SchedulerKind.DDIM;
    return await renderDistribution(
      { runtime: this.runtime, tokenizer: this.tokenizer },
      dist.distribution,
      {
        gamma: o.gamma,
        n: o.n,
        seed: o.seed,
        guidance: o.guidance ?? defaults.guidance,
        guidanceRescale: o.guidanceRescale ?? defaults.guidanceRescale,
        timesteps: planTimesteps(kind, this.schedulerConfig, o.steps),
        sampler,
        ...(o.negativePrompt ? { negativePrompt: o.negativePrompt } : {}),
        ...(o.onProgress ? { onProgress: o.onProgress } : {}),
        ...(o.signal ? { signal: o.signal } : {}),
      },
    );
  }
}
