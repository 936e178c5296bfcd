/**
 * A model's sessions behind typed calls for each component (text encoder, UNet, VAE),
 * created lazily and reused, whatever ONNX Runtime opens them: {@linkcode ModelRuntime}
 * (model_runtime.ts) opens onnxruntime-node sessions from graphs built in memory, the
 * in-browser sampler (core/browser) onnxruntime-web sessions from ONNX files. Both run the
 * same feeds through the same pipeline. Also counts the time spent inside the runtime, so
 * benchmarks can report how much of a run is overhead.
 *
 * @module
 */
import type { HostSession, HostTensor } from "../onnx/browser.ts";
import type { ModelInfo } from "./types.ts";

/** A model component with a graph of its own. */
export type Component = "textEncoder" | "textEncoderEmbeds" | "unet" | "vaeDecoder" | "vaeEncoder";

/** The components in a fixed order. */
export const COMPONENTS: readonly Component[] = [
  "textEncoder",
  "textEncoderEmbeds",
  "unet",
  "vaeDecoder",
  "vaeEncoder",
];

/** Opens the session of one component. */
export type OpenSession = (component: Component) => Promise<HostSession>;

/**
 * Sessions of one model's components.
 * @example
 * ```ts ignore
 * const rt = new SdRuntime(info, new Set(["textEncoder", "unet"]), (c) => openMySession(c));
 * const features = await rt.encodeIds(ids, 1);
 * ```
 */
export class SdRuntime {
  private readonly sessions = new Map<Component, Promise<HostSession>>();
  /** Milliseconds spent inside the sessions' run since creation. */
  ortMs = 0;

  /**
   * @param info The model's facts (sizes, VAE scale).
   * @param components The components this model has (a pixel-space model has no VAE).
   * @param open Opens a component's session (called once per component, again after a failure).
   */
  constructor(
    readonly info: ModelInfo,
    private readonly components: ReadonlySet<Component>,
    private readonly open: OpenSession,
  ) {}

  /** Whether the model has this component. */
  has(c: Component): boolean {
    return this.components.has(c);
  }

  private session(c: Component): Promise<HostSession> {
    let s = this.sessions.get(c);
    if (!s) {
      if (!this.has(c)) throw new Error(`this model has no ${c} graph`);
      s = this.open(c);
      // A failed creation is not cached, so a later call can retry.
      s.catch(() => this.sessions.delete(c));
      this.sessions.set(c, s);
    }
    return s;
  }

  private async run(c: Component, feeds: Record<string, HostTensor>): Promise<Float32Array> {
    const s = await this.session(c);
    const t0 = performance.now();
    const out = await s.run(feeds);
    this.ortMs += performance.now() - t0;
    return out[s.outputNames[0]!]!.data as Float32Array;
  }

  /** Text features [B, L, d] from token ids [B, L]. */
  encodeIds(ids: Int32Array, batch: number): Promise<Float32Array> {
    const L = ids.length / batch;
    return this.run("textEncoder", {
      input_ids: { dtype: "int32", dims: [batch, L], data: ids },
    });
  }

  /** Text features [B, L, d] from token embeddings [B, L, d]. */
  encodeEmbeds(embeds: Float32Array, batch: number): Promise<Float32Array> {
    const { maxLength: L, hiddenSize: d } = this.info;
    return this.run("textEncoderEmbeds", {
      inputs_embeds: { dtype: "float32", dims: [batch, L, d], data: embeds },
    });
  }

  /** The UNet's prediction for latents [B, C, h, w] at timesteps [B]. */
  unet(
    sample: Float32Array,
    timesteps: Float32Array,
    context: Float32Array,
  ): Promise<Float32Array> {
    const { latentChannels: C, maxLength: L, hiddenSize: d } = this.info;
    const B = timesteps.length;
    const side = Math.round(Math.sqrt(sample.length / (B * C)));
    return this.run("unet", {
      sample: { dtype: "float32", dims: [B, C, side, side], data: sample },
      timestep: { dtype: "float32", dims: [B], data: timesteps },
      encoder_hidden_states: { dtype: "float32", dims: [B, L, d], data: context },
    });
  }

  /** Pixels [B, 3, H, W] in about [-1, 1] from unscaled latents [B, C, h, w]. */
  decode(latents: Float32Array, batch: number): Promise<Float32Array> {
    if (!this.has("vaeDecoder")) return Promise.resolve(latents); // pixel space
    const C = this.info.latentChannels;
    const side = Math.round(Math.sqrt(latents.length / (batch * C)));
    return this.run("vaeDecoder", {
      latent_sample: { dtype: "float32", dims: [batch, C, side, side], data: latents },
    });
  }

  /** Posterior-mean latents [B, C, h, w] (unscaled) from pixels [B, 3, H, W] in [-1, 1]. */
  encode(pixels: Float32Array, batch: number): Promise<Float32Array> {
    if (!this.has("vaeEncoder")) return Promise.resolve(pixels); // pixel space
    const side = Math.round(Math.sqrt(pixels.length / (batch * 3)));
    return this.run("vaeEncoder", {
      sample: { dtype: "float32", dims: [batch, 3, side, side], data: pixels },
    });
  }

  /** Frees every session. */
  async release(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of all) await (await s).release();
  }
}
