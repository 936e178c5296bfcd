/**
 * The DreamDistribution training objective as one ONNX graph (DESIGN §3–§4):
 *
 *   E_k = [BOS, V_k, EOS, PAD...]              templated soft prompts [K, L, d]
 *   c   = text_encoder(E)                      [K, L, d]
 *   mu  = mean_k c,  sigma = std_k c           [L, d] (unbiased by default)
 *   c~_s = mu + omega_s * sigma                reparameterised samples [S, L, d]
 *   loss = mean_{s,b} ||target_b - unet(x_t_b, t_b, c~_s)||^2 + lambda * L_ortho
 *
 * The gradient w.r.t. V comes from core/autodiff on this graph.
 * @module
 */
import type { Builder } from "../onnx/builder.ts";
import { inlineModel } from "../onnx/compose.ts";
import type { Model } from "../onnx/types.ts";

/** Sizes and method options of one objective graph. */
export interface ObjectiveOptions {
  /** Number of soft prompts (K >= 2 when sigma is used). */
  K: number;
  /** Learnable vectors per prompt. */
  M: number;
  /** Monte-Carlo samples of c~. */
  S: number;
  /** Sequence length L of the text encoder. */
  L: number;
  /** Weight of the orthogonality loss. */
  lambda: number;
  /** Std estimator over K: "unbiased" (paper, divide by K-1) or "population" (K). */
  sigma: "unbiased" | "population";
  /** Directory of the host model, for external weights of the inlined models. */
  baseDir?: string;
}

/** Names of the objective's input values inside the builder. */
export interface ObjectiveInputs {
  /** Soft prompt vectors V [K, M, d]. */
  ctx: string;
  /** Token-embedding rows [d] of BOS, EOS and PAD. */
  bos: string;
  eos: string;
  pad: string;
  /** Noisy latents [B, C, h, w], timesteps [B] (float), targets [B, C, h, w]. */
  xT: string;
  timestep: string;
  target: string;
  /** Standard normal noise [S, L, d] for the reparameterisation. */
  omega: string;
}

/** Values the objective graph computes. */
export interface ObjectiveOutputs {
  loss: string;
  diffusion: string;
  ortho: string;
  c: string;
  mu: string;
  sigma: string;
  cTilde: string;
}

function templateEmbeds(g: Builder, v: ObjectiveInputs, o: ObjectiveOptions): string {
  const d = g.shape(v.ctx)[2]!;
  const row = (x: string, n: number) => g.expand(g.reshape(x, [1, 1, d]), [o.K, n, d]);
  const parts = [row(v.bos, 1), v.ctx, row(v.eos, 1)];
  const padCount = o.L - o.M - 2;
  if (padCount < 0) throw new Error(`M=${o.M} soft vectors do not fit in L=${o.L} tokens`);
  if (padCount > 0) parts.push(row(v.pad, padCount));
  return g.concat(parts, 1);
}

/** Mean over unordered pairs of |cos| between flattened prompt features (paper form). */
function orthoLoss(g: Builder, c: string, K: number): string {
  const [, L, d] = g.shape(c) as [number, number, number];
  const flat = g.reshape(c, [K, L * d]);
  const norms = g.sqrt(g.reduceSum(g.mul(flat, flat), [1], true)); // [K,1]
  const cos = g.div(
    g.matmul(flat, g.transpose(flat, [1, 0])),
    g.mul(norms, g.transpose(norms, [1, 0])),
  );
  const upper = Array.from({ length: K * K }, (_, i) => (i % K > Math.floor(i / K) ? 1 : 0));
  const mask = g.constant(g.dtype(c), [K, K], upper);
  const total = g.reduceSum(g.mul(g.abs(cos), mask), [0, 1], false);
  return g.div(total, K * (K - 1));
}

/**
 * Emits the objective into `g`, inlining the text encoder (inputs_embeds →
 * last_hidden_state) and the UNet (sample, timestep, encoder_hidden_states → out_sample).
 */
export function buildObjective(
  g: Builder,
  textEncoder: Model,
  unet: Model,
  v: ObjectiveInputs,
  o: ObjectiveOptions,
): ObjectiveOutputs {
  const embeds = templateEmbeds(g, v, o);
  const te = inlineModel(
    g,
    textEncoder,
    { [textEncoder.graph.inputs[0]!.name]: embeds },
    "te/",
    o.baseDir,
  );
  const c = te[textEncoder.graph.outputs[0]!.name]!;
  const [K, L, d] = g.shape(c) as [number, number, number];
  const mu = g.reduceMean(c, [0], false);
  const dev = g.sub(c, mu);
  const divisor = o.sigma === "unbiased" ? K - 1 : K;
  const sigma = g.sqrt(g.div(g.reduceSum(g.mul(dev, dev), [0], false), divisor));
  const cTilde = g.add(mu, g.mul(v.omega, sigma)); // [S, L, d]

  const [B, ...latent] = g.shape(v.xT) as number[];
  const batch = o.S * B!;
  const tile = (x: string, rest: number[]) =>
    g.reshape(g.expand(g.reshape(x, [1, B!, ...rest]), [o.S, B!, ...rest]), [batch, ...rest]);
  const cond = g.reshape(g.expand(g.reshape(cTilde, [o.S, 1, L, d]), [o.S, B!, L, d]), [
    batch,
    L,
    d,
  ]);
  const unetIn = unet.graph.inputs.map((i) => i.name);
  const out = inlineModel(
    g,
    unet,
    {
      [unetIn[0]!]: tile(v.xT, latent),
      [unetIn[1]!]: tile(v.timestep, []),
      [unetIn[2]!]: cond,
    },
    "unet/",
    o.baseDir,
  )[unet.graph.outputs[0]!.name]!;
  const err = g.sub(out, tile(v.target, latent));
  const all = g.shape(err).map((_, i) => i);
  const diffusion = g.reduceMean(g.mul(err, err), all, false);
  const ortho = orthoLoss(g, c, K);
  const loss = o.lambda === 0 ? diffusion : g.add(diffusion, g.mul(ortho, o.lambda));
  return { loss, diffusion, ortho, c, mu, sigma, cTilde };
}
