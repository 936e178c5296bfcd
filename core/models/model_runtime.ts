/**
 * One set of ONNX Runtime sessions per model, created lazily and reused, with typed calls
 * for each component. Also counts the time spent inside ONNX Runtime, so benchmarks can
 * report how much of a run is overhead.
 *
 * @module
 */
import type { SdGraphs } from "./types.ts";
import { Session, type SessionOptions } from "../onnx/mod.ts";

type Component = "textEncoder" | "textEncoderEmbeds" | "unet" | "vaeDecoder" | "vaeEncoder";

/** Sessions of one model's components. */
export class ModelRuntime {
  private readonly sessions = new Map<Component, Promise<Session>>();
  /** Milliseconds spent inside Session.run since creation. */
  ortMs = 0;

  constructor(readonly graphs: SdGraphs, readonly options: SessionOptions = {}) {}

  private session(c: Component): Promise<Session> {
    let s = this.sessions.get(c);
    if (!s) {
      const model = this.graphs[c];
      if (!model) throw new Error(`this model has no ${c} graph`);
      s = Session.create(model, this.options);
      // A failed creation is not cached, so a later call can retry.
      s.catch(() => this.sessions.delete(c));
      this.sessions.set(c, s);
    }
    return s;
  }

  private async run(
    c: Component,
    feeds: Parameters<Session["run"]>[0],
  ): Promise<Float32Array> {
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
    const { maxLength: L, hiddenSize: d } = this.graphs.info;
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
    const { latentChannels: C, maxLength: L, hiddenSize: d } = this.graphs.info;
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
    if (!this.graphs.vaeDecoder) return Promise.resolve(latents); // pixel space
    const C = this.graphs.info.latentChannels;
    const side = Math.round(Math.sqrt(latents.length / (batch * C)));
    return this.run("vaeDecoder", {
      latent_sample: { dtype: "float32", dims: [batch, C, side, side], data: latents },
    });
  }

  /** Posterior-mean latents [B, C, h, w] (unscaled) from pixels [B, 3, H, W] in [-1, 1]. */
  encode(pixels: Float32Array, batch: number): Promise<Float32Array> {
    if (!this.graphs.vaeEncoder) return Promise.resolve(pixels); // pixel space
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
