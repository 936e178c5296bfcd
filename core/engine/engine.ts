/**
 * The operations of the product (train, sample, embeddings, get/list/delete) over a store
 * and a set of models, shared by the deno tasks and the HTTP functions. Models are loaded
 * lazily, once per process, and their ONNX Runtime sessions reused.
 *
 * @module
 */
import { type BrowserModel, browserModel, distributionParameters } from "./browser_model.ts";
import {
  deleteDistribution,
  type DistributionTensors,
  listDistributions,
  loadDistribution,
  type Manifest,
  newDistributionId,
  readManifest,
  saveDistribution,
  writeSafetensors,
} from "../artifacts/mod.ts";
import { decodeImage, type DecodeOptions, type RgbImage, sha256Hex } from "../images/mod.ts";
import { type LoadedModel, loadModel, type ModelLocation } from "../models/mod.ts";
import type { SessionOptions } from "../onnx/mod.ts";
import type { Store } from "../store/mod.ts";
import {
  DistributionInputError,
  isValidatedTrainOptions,
  readTrainDefaults,
  resolveDistribution,
  sampleFeatures,
  sampleImages,
  type SampleOptions,
  trainDistribution,
  type TrainHooks,
  type TrainOptions,
  TrainOptionsSchema,
} from "../distribution/mod.ts";
import { budgetModelFacts, estimateSampleBytes, estimateTrainBytes } from "./budget.ts";
import { EngineError } from "./engine_error.ts";
import { previewHooks, type PreviewOptions } from "./preview.ts";
import { planTimesteps } from "./requests.ts";

/** Where a named model's files are, and which revision they are. */
export type ResolvedModel = ModelLocation;

export type { LoadedModel };

/** Engine settings. */
export interface EngineOptions {
  store: Store;
  /** Name → files (models.lock resolution, fetching on first use). */
  resolveModel: (name: string) => Promise<ResolvedModel>;
  defaultModel: string;
  sessionOptions?: SessionOptions;
  /** Train-step graph cache directory; null disables caching. */
  cacheDir?: string | null;
  /** Limits for decoding reference images. */
  imageLimits?: DecodeOptions["limits"];
}

/** One reference image as sent by a user. */
export interface ImageInput {
  bytes: Uint8Array;
  name?: string;
}

/** A training request: reference images, the model's name (default the engine's), options. */
export interface TrainRequest {
  model?: string;
  images: ImageInput[];
  /**
   * The images already decoded by the caller with {@linkcode Engine.decodeImages}, in the same
   * order (the task shows their sizes before training): not decoded again.
   */
  decoded?: RgbImage[];
  options: Partial<TrainOptions>;
}

/** A sample request: distribution ids with weights, and sampling options. */
export interface SampleRequest
  extends Omit<SampleOptions, "onProgress" | "signal" | "guidance" | "timesteps"> {
  distributions: { id: string; weight: number }[];
  /** Classifier-free guidance scale; absent: the model's default. */
  guidance?: number;
}

/** An embeddings request: what a sample request needs, without the denoising settings. */
export type EmbeddingsRequest = Omit<
  SampleRequest,
  "steps" | "guidance" | "scheduler" | "batchSize"
>;

export { EngineError } from "./engine_error.ts";

/** A stored sample image: its store key and, for object stores, a URL. */
export interface StoredSample {
  key: string;
  url?: string;
}

/** A page of {@linkcode Engine.page}. */
export interface DistributionPage {
  items: Manifest[];
  corrupt: { id: string; message: string }[];
  /** The `after` of the next page; null on the last. */
  next: string | null;
}

/**
 * The product's operations.
 * @example
 * ```ts ignore
 * const engine = new Engine({ store, resolveModel, defaultModel: "tiny" });
 * const manifest = await engine.train({ images }, { steps: 100 });
 * ```
 */
export class Engine {
  private readonly models = new Map<string, Promise<LoadedModel>>();
  private readonly browserModels = new Map<string, Promise<BrowserModel>>();

  constructor(readonly options: EngineOptions) {}

  /**
   * The request's training options over the model's own defaults (`_dd_train_defaults` in its
   * model_index.json, core/distribution/train_defaults.ts), as sampling takes the model's sampler
   * defaults: what a request leaves out comes from the model, then from the paper.
   */
  private async withModelDefaults(
    dir: string,
    options: Partial<TrainOptions> | undefined,
  ): Promise<Partial<TrainOptions>> {
    // Validated options (the train task checks them before any work) are complete already.
    if (isValidatedTrainOptions(options)) return options;
    const defaults = await readTrainDefaults(dir);
    return { ...defaults.options, ...options };
  }

  /**
   * Estimated peak bytes of a training request (core/engine/budget.ts), from its options and
   * the model's configs only: nothing is loaded or decoded.
   *
   * @param model The model's name (default the engine's).
   * @param options The request's options; defaults fill the rest.
   * @returns Bytes.
   */
  async trainBudgetBytes(
    model: string | undefined,
    requested: Partial<TrainOptions>,
  ): Promise<number> {
    const { dir } = await this.resolve(model);
    const options = await this.withModelDefaults(dir, requested);
    const parsed = TrainOptionsSchema.safeParse(options);
    const o = parsed.success ? parsed.data : { ...TrainOptionsSchema.parse({}), ...options };
    const ti = o.mode === "textual_inversion";
    return estimateTrainBytes(await budgetModelFacts(dir), {
      K: ti ? 1 : o.K,
      M: o.M,
      S: ti ? 1 : o.S,
      batchSize: o.batchSize,
      objective: ti ? "paper" : o.objective,
    });
  }

  /**
   * Estimated peak bytes of a sampling request (core/engine/budget.ts), before any work.
   *
   * @param model The model's name (default the engine's).
   * @param req Images and batch size.
   * @returns Bytes.
   */
  async sampleBudgetBytes(
    model: string | undefined,
    req: { n: number; batchSize?: number },
  ): Promise<number> {
    const { dir } = await this.resolve(model);
    return estimateSampleBytes(await budgetModelFacts(dir), req);
  }

  /** The named model, loaded once per process. */
  model(name = this.options.defaultModel): Promise<LoadedModel> {
    let m = this.models.get(name);
    if (!m) {
      m = this.loadModel(name);
      m.catch(() => this.models.delete(name));
      this.models.set(name, m);
    }
    return m;
  }

  /** Where a model's files are: the one place the engine resolves a name (default its own). */
  private resolve(name: string | undefined): Promise<ResolvedModel> {
    return this.options.resolveModel(name ?? this.options.defaultModel);
  }

  private loadModel(name: string): Promise<LoadedModel> {
    return loadModel(name, {
      resolve: (n) => this.resolve(n),
      sessionOptions: this.options.sessionOptions ?? {},
    });
  }

  /**
   * The named model packed for the in-browser sampler (browser_model.ts), once per process.
   * @param name The model's name (default the engine's).
   */
  browserModel(name = this.options.defaultModel): Promise<BrowserModel> {
    let p = this.browserModels.get(name);
    if (!p) {
      p = this.model(name).then(browserModel);
      p.catch(() => this.browserModels.delete(name));
      this.browserModels.set(name, p);
    }
    return p;
  }

  /** A distribution's mu, sigma and features as safetensors (browser_model.ts). */
  async parameters(id: string): Promise<Uint8Array> {
    return distributionParameters(await this.get(id));
  }

  /** Decodes reference images (limits checked from headers first). */
  async decodeImages(images: ImageInput[]): Promise<RgbImage[]> {
    if (images.length === 0) throw new EngineError("no_images", "no reference images");
    const out: RgbImage[] = [];
    for (const [i, img] of images.entries()) {
      try {
        const limits = this.options.imageLimits;
        const { width, height, data } = await decodeImage(img.bytes, limits ? { limits } : {});
        out.push({ width, height, data });
      } catch (e) {
        const code = (e as { code?: string }).code ?? "invalid_image";
        throw new EngineError(code, `image ${img.name ?? i}: ${(e as Error).message}`);
      }
    }
    return out;
  }

  /** Learns a distribution and saves it; nothing is written unless training succeeds. */
  async train(
    req: TrainRequest,
    hooks: TrainHooks & { preview?: PreviewOptions } = {},
  ): Promise<Manifest> {
    const { preview, ...coreHooks } = hooks;
    const images = req.decoded ?? await this.decodeImages(req.images);
    const model = await this.model(req.model);
    const options = await this.withModelDefaults(model.dir, req.options);
    let result;
    try {
      result = await trainDistribution(
        {
          runtime: model.runtime,
          tokenizer: model.tokenizer,
          schedulerConfig: model.schedulerConfig,
          images,
        },
        options,
        {
          cacheDir: this.options.cacheDir ?? null,
          ...coreHooks,
          ...(preview ? previewHooks(model, preview, hooks.signal) : {}),
        },
      );
    } catch (e) {
      throw asClientError(e);
    }
    // Cancelled after the last step: nothing is saved.
    hooks.signal?.throwIfAborted();
    const { maxLength: L, hiddenSize: d } = model.runtime.graphs.info;
    const o = result.options;
    const tensors: DistributionTensors = {
      ctx: { data: result.ctx, shape: [o.K, o.M, d] },
      mu: { data: result.distribution.mu, shape: [L, d] },
      sigma: { data: result.distribution.sigma, shape: [L, d] },
      ...(result.features ? { features: { data: result.features, shape: [o.K, L, d] } } : {}),
    };
    return await saveDistribution(this.options.store, {
      id: newDistributionId(),
      createdAt: new Date().toISOString(),
      model: { name: model.name, revision: model.revision },
      K: o.K,
      M: o.M,
      L,
      d,
      template: { prefix: result.template.prefix, suffix: result.template.suffix },
      options: JSON.parse(JSON.stringify(o)),
      references: await Promise.all(
        req.images.map(async (i) => ({ sha256: await sha256Hex(i.bytes) })),
      ),
      lossCurve: result.lossCurve,
    }, tensors);
  }

  /** A stored distribution. */
  get(id: string): Promise<{ manifest: Manifest; tensors: DistributionTensors }> {
    return loadDistribution(this.options.store, id);
  }

  /** Ids of stored distributions, paged. */
  list(opts?: { limit?: number; after?: string }): Promise<string[]> {
    return listDistributions(this.options.store, opts);
  }

  /**
   * A page of stored distributions' manifests, in id order: `limit` of them after `after`,
   * and `next` (the `after` of the next page, null on the last). A manifest that cannot be
   * read does not fail the page: it is reported in `corrupt` with the reason.
   */
  async page(opts: { limit: number; after?: string }): Promise<DistributionPage> {
    const ids = await this.list({ ...opts, limit: opts.limit + 1 });
    const page = ids.slice(0, opts.limit);
    const items: Manifest[] = [];
    const corrupt: { id: string; message: string }[] = [];
    for (const id of page) {
      const m = await readManifest(this.options.store, id);
      if (m === null) continue; // deleted since it was listed
      if (typeof m === "string") corrupt.push({ id, message: m });
      else items.push(m);
    }
    return { items, corrupt, next: ids.length > opts.limit ? page[page.length - 1]! : null };
  }

  /**
   * A distribution's manifest alone (its files unread): null when absent, a string saying why
   * when unreadable.
   */
  manifest(id: string): Promise<Manifest | string | null> {
    return readManifest(this.options.store, id);
  }

  /**
   * Stores sampled PNGs under `samples/<id>/<i>.png`; on failure removes what was written.
   * Each answer holds the store-relative key and, for an object store, a URL a client can
   * use: pre-signed for an hour when the store can presign, else the public object URL. A
   * folder store's path is the server's business: its key alone is answered.
   */
  async storeSamples(id: string, pngs: Uint8Array[]): Promise<StoredSample[]> {
    const store = this.options.store;
    const out: StoredSample[] = [];
    try {
      for (const [i, png] of pngs.entries()) {
        const key = `samples/${id}/${i}.png`;
        await store.put(key, png, { contentType: "image/png" });
        if (store.presignGet) out.push({ key, url: await store.presignGet(key, 3600) });
        else if (/^https?:/.test(store.url)) out.push({ key, url: `${store.url}/${key}` });
        else out.push({ key });
      }
    } catch (e) {
      for (const { key } of out) await store.delete(key).catch(() => {});
      throw e;
    }
    return out;
  }

  /** Deletes a distribution (manifest first). */
  delete(id: string): Promise<void> {
    return deleteDistribution(this.options.store, id);
  }

  private async weighted(req: Pick<SampleRequest, "distributions">) {
    if (req.distributions.length === 0) {
      throw new EngineError("invalid_request", "no distribution to sample from");
    }
    const dists = await Promise.all(req.distributions.map(async ({ id, weight }) => ({
      ...(await this.get(id)),
      weight,
    })));
    const first = dists[0]!.manifest.model;
    if (
      dists.some((x) =>
        x.manifest.model.name !== first.name || x.manifest.model.revision !== first.revision
      )
    ) {
      throw new EngineError("model_mismatch", "cannot mix distributions of different models");
    }
    const model = await this.model(first.name);
    return { dists, model };
  }

  /** Generates images from one distribution or a weighted mix. */
  async sample(
    req: SampleRequest,
    hooks: Pick<SampleOptions, "onProgress" | "signal"> = {},
  ): Promise<RgbImage[]> {
    const { dists, model } = await this.weighted(req);
    // The one check of `steps`: the timesteps are planned here, before any model work, and
    // the plan passed down to the denoising loop.
    const kind = req.scheduler ?? model.defaultScheduler;
    const timesteps = planTimesteps(kind, model.schedulerConfig, req.steps);
    const guidance = req.guidance ?? model.defaultGuidance;
    const guidanceRescale = req.guidanceRescale ?? model.defaultGuidanceRescale;
    return await clientErrors(() =>
      sampleImages(model, dists, {
        ...req,
        guidance,
        guidanceRescale,
        scheduler: kind,
        timesteps,
        ...hooks,
      })
    );
  }

  /** Sampled features c~ [n, L, d] and the unconditional features [L, d], as safetensors. */
  async embeddings(req: EmbeddingsRequest): Promise<Uint8Array> {
    const { dists, model } = await this.weighted(req);
    return await clientErrors(async () => {
      const dist = await resolveDistribution(
        model,
        dists,
        req.template,
        req.mixMode,
        req.sampler,
      );
      const { cond, uncond } = await sampleFeatures(model, dist, req);
      const { maxLength: L, hiddenSize: d } = model.runtime.graphs.info;
      return writeSafetensors({
        c_tilde: { data: cond, shape: [req.n, L, d] },
        uncond: { data: uncond, shape: [1, L, d] },
      }, { model: model.name, revision: model.revision, gamma: String(req.gamma) });
    });
  }

  /** Frees every model's sessions. */
  async close(): Promise<void> {
    for (const m of this.models.values()) await (await m).runtime.release();
    this.models.clear();
  }
}

/**
 * core/distribution's input errors as EngineErrors: bad training options are
 * "invalid_options", bad sample requests (template, weights, gamma, mixes) "invalid_request";
 * anything else is returned unchanged (an internal error).
 */
function asClientError(e: unknown): unknown {
  if (!(e instanceof DistributionInputError)) return e;
  return new EngineError(e.kind === "options" ? "invalid_options" : "invalid_request", e.message);
}

/** Runs `f`, turning core/distribution's input errors into EngineErrors (`asClientError`). */
async function clientErrors<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw asClientError(e);
  }
}
