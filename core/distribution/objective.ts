/**
 * The DreamDistribution training objective as one ONNX graph (DESIGN §3–§4):
 *
 *   E_k = [before, V_k, after]                 templated soft prompts [K, L, d]
 *         (before = BOS + prefix token rows, after = suffix rows + EOS + padding rows)
 *   c   = text_encoder(E)                      [K, L, d]
 *   mu  = mean_k c,  sigma = std_k c           [L, d] (unbiased by default)
 *   c~_s = mu + omega_s * sigma                reparameterised samples [S, L, d]
 *                                              (or [S*B, L, d]: omega per image, authors' code)
 *   c~_s = mu + sum_k w_sk (c_k - mu)/sqrt(K-1)  with `lowRank`: the low-rank sampler's own
 *                                              form, w [S, K] (or [S*B, K]) standard normal,
 *                                              so training draws what sampling will draw
 *   loss = mean_{s,b} w_b ||target_b - unet(x_t_b, t_b, c~_s)||^2 + lambda * L_ortho
 *        (with `sampleSoftmin` tau > 0 the mean over s becomes, per image b, a soft-min
 *         m_b - T_b log mean_s exp(-(L_sb - m_b) / T_b), T_b = tau * m_b, m_b = mean_s L_sb:
 *         the importance-weighted bound on the Gaussian's likelihood of image b, which,
 *         unlike the mean, pays sigma for samples that explain different references)
 *        (+ beta * mean_b w_b ||target_b - unet(x_t_b, t_b, select_b · c)||^2 with the
 *         best-prompt objective: select_b is a one-hot row naming the prompt that explains
 *         image b, drawn by the trainer from the soft-min responsibilities, DESIGN §4b)
 *
 * Textual Inversion is the same graph with K = 1 and sigma = 0 ("none").
 * The gradient w.r.t. V comes from core/autodiff on this graph.
 * @module
 */
import { type Builder, inlineModel, type Model } from "../onnx/mod.ts";

/** Sizes and method options of one objective graph. */
export interface ObjectiveOptions {
  /** Number of soft prompts (K >= 2 unless sigma is "none"). */
  K: number;
  /** Learnable vectors per prompt. */
  M: number;
  /** Monte-Carlo samples of c~. */
  S: number;
  /** Weight of the orthogonality loss (0 disables it). */
  lambda: number;
  /** Std over K: "unbiased" (paper), "population", or "none" (Textual Inversion: sigma = 0). */
  sigma: "unbiased" | "population" | "none";
  /** Ortho loss: "paper" (|cos| of flattened features, pairs i<j) or "pooled" (authors' code). */
  ortho?: "paper" | "pooled";
  /** Sequence index of the EOS token (for the pooled ortho loss). */
  eosIndex?: number;
  /** Directory of the host model, for external weights of the inlined models. */
  baseDir?: string;
  /** omega is [S*B, L, d], one per image and sample (authors' code), not [S, L, d]. */
  omegaPerImage?: boolean;
  /** Weight beta of the best-prompt term (0 or absent: no term, no `select` input). */
  bestPromptWeight?: number;
  /**
   * c~ is drawn as the low-rank sampler draws it (mu plus a random combination of the K
   * deviations) instead of mu + omega * sigma; `omega` is then [S, K] (or [S*B, K]).
   */
  lowRank?: boolean;
  /**
   * Temperature tau of a soft-min over the S samples of each image (relative to the image's
   * mean loss over s); 0 or absent: the paper's mean. DESIGN §4b.
   */
  sampleSoftmin?: number;
}

/** Names of the objective's input values inside the builder. */
export interface ObjectiveInputs {
  /** Soft prompt vectors V [K, M, d]. */
  ctx: string;
  /** Token-embedding rows before V ([P, d]: BOS and prefix) and after it ([L-P-M, d]). */
  before: string;
  after: string;
  /** Noisy latents [B, C, h, w], timesteps [B] (float), targets [B, C, h, w]. */
  xT: string;
  timestep: string;
  target: string;
  /** Standard normal noise [S, L, d] for the reparameterisation ([S, K] with `lowRank`). */
  omega: string;
  /** Optional per-image loss weights [B] (Min-SNR weighting). */
  weights?: string;
  /** One-hot prompt choice per image [B, K] (the best-prompt term only). */
  select?: string;
}

/** Values the objective graph computes. */
export interface ObjectiveOutputs {
  loss: string;
  diffusion: string;
  ortho: string | null;
  c: string;
  mu: string;
  sigma: string | null;
  cTilde: string;
}

function templateEmbeds(g: Builder, v: ObjectiveInputs, K: number): string {
  const d = g.shape(v.ctx)[2]!;
  const rows = (x: string) => {
    const n = g.shape(x)[0]!;
    return g.expand(g.reshape(x, [1, n, d]), [K, n, d]);
  };
  return g.concat([rows(v.before), v.ctx, rows(v.after)], 1);
}

/** Paper form: mean over unordered pairs of |cos| between flattened prompt features. */
function orthoPaper(g: Builder, c: string, K: number): string {
  const [, L, d] = g.shape(c) as [number, number, number];
  return pairwiseCos(g, g.reshape(c, [K, L * d]), K, false);
}

/** Authors' code: squared cosine of the EOS-token features over ordered pairs i != j. */
function orthoPooled(g: Builder, c: string, K: number, eosIndex: number): string {
  const d = g.shape(c)[2]!;
  const eos = g.reshape(g.slice(c, [eosIndex], [eosIndex + 1], [1]), [K, d]);
  return pairwiseCos(g, eos, K, true);
}

function pairwiseCos(g: Builder, flat: string, K: number, squaredOrdered: boolean): string {
  const norms = g.sqrt(g.reduceSum(g.mul(flat, flat), [1], true)); // [K,1]
  const gram = g.matmul(flat, g.transpose(flat, [1, 0]));
  const cos = g.div(gram, g.mul(norms, g.transpose(norms, [1, 0])));
  const keep = (i: number, j: number) => (squaredOrdered ? i !== j : j > i);
  const mask = Array.from({ length: K * K }, (_, x) => (keep(Math.floor(x / K), x % K) ? 1 : 0));
  const term = squaredOrdered ? g.mul(cos, cos) : g.abs(cos);
  const total = g.reduceSum(g.mul(term, g.constant(g.dtype(flat), [K, K], mask)), [0, 1], false);
  return g.div(total, K * (K - 1));
}

/**
 * mean_b of m_b - T_b log mean_s exp(-(L_sb - m_b) / T_b) over rows [S*B] (row s*B + b), with
 * m_b = mean_s L_sb and T_b = tau * m_b. Subtracting m_b keeps exp in range; the value is the
 * soft-min itself, so the gradient is exact (no stop-gradient is needed).
 */
function sampleSoftmin(g: Builder, rows: string, S: number, B: number, tau: number): string {
  const L = g.reshape(rows, [S, B]);
  const m = g.reduceMean(L, [0], true); // [1, B]
  const T = g.mul(m, tau);
  const lme = g.log(g.reduceMean(g.exp(g.div(g.neg(g.sub(L, m)), T)), [0], true));
  return g.reduceMean(g.sub(m, g.mul(T, lme)), [0, 1], false);
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
  if (o.sigma !== "none" && o.K < 2) throw new Error("a prompt distribution needs K >= 2");
  const embeds = templateEmbeds(g, v, o.K);
  const teIn = textEncoder.graph.inputs[0]!.name;
  const te = inlineModel(g, textEncoder, { [teIn]: embeds }, "te/", o.baseDir);
  const c = te[textEncoder.graph.outputs[0]!.name]!;
  const [K, L, d] = g.shape(c) as [number, number, number];
  const mu = g.reduceMean(c, [0], false);
  let sigma: string | null = null;
  let cTilde: string;
  if (o.sigma === "none") {
    cTilde = g.expand(g.reshape(mu, [1, L, d]), [o.S, L, d]);
  } else if (o.lowRank) {
    // Same form as PromptDistribution's low-rank sampler at gamma 1 (DESIGN §4b).
    const dev = g.reshape(g.sub(c, mu), [K, L * d]);
    const rows = g.shape(v.omega)[0]!;
    const mix = g.div(g.matmul(v.omega, dev), Math.sqrt(K - 1));
    cTilde = g.add(mu, g.reshape(mix, [rows, L, d]));
  } else {
    const dev = g.sub(c, mu);
    const divisor = o.sigma === "unbiased" ? K - 1 : K;
    sigma = g.sqrt(g.div(g.reduceSum(g.mul(dev, dev), [0], false), divisor));
    cTilde = g.add(mu, g.mul(v.omega, sigma)); // [S, L, d]
  }

  const [B, ...latent] = g.shape(v.xT) as number[];
  const SB = o.S * B!;
  const tile = (x: string, rest: number[]) =>
    g.reshape(g.expand(g.reshape(x, [1, B!, ...rest]), [o.S, B!, ...rest]), [SB, ...rest]);
  // Row s*B + b of the UNet batch pairs image b with sample s (omega per image: its own c~).
  const cond = o.omegaPerImage
    ? cTilde
    : g.reshape(g.expand(g.reshape(cTilde, [o.S, 1, L, d]), [o.S, B!, L, d]), [SB, L, d]);
  const best = (o.bestPromptWeight ?? 0) > 0;
  if (best && !v.select) throw new Error("the best-prompt term needs a select input");
  // The best-prompt rows ride in the same UNet call, after the S*B paper rows.
  const both = (paper: string, extra: string) => (best ? g.concat([paper, extra], 0) : paper);
  const chosen = best ? g.reshape(g.matmul(v.select!, g.reshape(c, [K, L * d])), [B!, L, d]) : "";
  const unetIn = unet.graph.inputs.map((i) => i.name);
  const out = inlineModel(
    g,
    unet,
    {
      [unetIn[0]!]: both(tile(v.xT, latent), v.xT),
      [unetIn[1]!]: both(tile(v.timestep, []), v.timestep),
      [unetIn[2]!]: both(cond, chosen),
    },
    "unet/",
    o.baseDir,
  )[unet.graph.outputs[0]!.name]!;
  const err = g.sub(out, both(tile(v.target, latent), v.target));
  const inner = latent.map((_, i) => i + 1);
  let perSample = g.reduceMean(g.mul(err, err), inner, false); // [S*B (+ B)]
  if (v.weights) perSample = g.mul(perSample, both(tile(v.weights, []), v.weights));
  const paperRows = best ? g.slice(perSample, [0], [SB], [0]) : perSample;
  const diffusion = g.reduceMean(paperRows, [0], false);
  let loss = (o.sampleSoftmin ?? 0) > 0 && o.S > 1
    ? sampleSoftmin(g, paperRows, o.S, B!, o.sampleSoftmin!)
    : diffusion;
  if (best) {
    const bestRows = g.slice(perSample, [SB], [SB + B!], [0]);
    loss = g.add(loss, g.mul(g.reduceMean(bestRows, [0], false), o.bestPromptWeight!));
  }
  let ortho: string | null = null;
  if (o.lambda > 0 && K > 1) {
    ortho = (o.ortho ?? "paper") === "paper"
      ? orthoPaper(g, c, K)
      : orthoPooled(g, c, K, o.eosIndex ?? 1 + o.M);
    loss = g.add(loss, g.mul(ortho, o.lambda));
  }
  return { loss, diffusion, ortho, c, mu, sigma, cTilde };
}
