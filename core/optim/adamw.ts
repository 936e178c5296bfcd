/**
 * AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization", Algorithm 2) with
 * PyTorch's conventions: decoupled decay p ← p(1 − lr·wd) before the Adam step, bias
 * correction, eps added after the square root, and `clip_grad_norm_`-style clipping of
 * the global L2 norm before the step.
 *
 * @module
 */
import { CodedError } from "../errors.ts";

/** AdamW hyper-parameters (DESIGN §4 defaults). */
export interface AdamWOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Clip the global gradient L2 norm to this value; 0 disables. */
  maxGradNorm: number;
}

/** Paper defaults: lr 1e-3, betas (0.9, 0.999), weight decay 1e-2, clip 1.0. */
export const ADAMW_DEFAULTS: Readonly<AdamWOptions> = {
  lr: 1e-3,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 1e-2,
  maxGradNorm: 1.0,
};

/** Optimiser state, serialisable for checkpoints (moments kept in float64). */
export interface AdamWState {
  step: number;
  m: Float64Array;
  v: Float64Array;
}

/** What one step did, for logs. */
export interface AdamWStepInfo {
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Scale applied to the gradient (1 when not clipped). */
  clipScale: number;
}

/**
 * AdamW over one flat parameter vector, updated in place.
 * @example
 * ```ts
 * const p = new Float32Array([1, -1]);
 * const opt = new AdamW(p.length);
 * opt.step(p, new Float32Array([0.5, -0.5]));
 * ```
 */
/**
 * A gradient with a NaN or infinite entry (or norm): the step is refused and the parameters
 * are left as they were. Callers turn it into their own "training diverged" error.
 *
 * @example
 * ```ts
 * import { AdamW, NonFiniteGradientError } from "./adamw.ts";
 * const opt = new AdamW(1);
 * try {
 *   opt.step(new Float32Array(1), [NaN]);
 * } catch (e) {
 *   console.assert(e instanceof NonFiniteGradientError);
 * }
 * ```
 */
export class NonFiniteGradientError extends CodedError<"non_finite_gradient"> {
  constructor() {
    super("non_finite_gradient", "AdamW: gradient is not finite");
  }
}

export class AdamW {
  readonly options: AdamWOptions;
  state: AdamWState;

  constructor(size: number, options: Partial<AdamWOptions> = {}) {
    this.options = { ...ADAMW_DEFAULTS, ...options };
    const o = this.options;
    if (!(o.lr > 0)) throw new Error(`AdamW: lr must be > 0, got ${o.lr}`);
    if (!(o.beta1 >= 0 && o.beta1 < 1) || !(o.beta2 >= 0 && o.beta2 < 1)) {
      throw new Error(`AdamW: betas must be in [0, 1), got (${o.beta1}, ${o.beta2})`);
    }
    if (!(o.weightDecay >= 0)) throw new Error(`AdamW: weight decay must be >= 0`);
    if (!(o.maxGradNorm >= 0)) throw new Error(`AdamW: maxGradNorm must be >= 0`);
    this.state = { step: 0, m: new Float64Array(size), v: new Float64Array(size) };
  }

  /** One update of `params` with `grad` (same length); returns the clipping info. */
  step(params: Float32Array, grad: ArrayLike<number>): AdamWStepInfo {
    const { lr, beta1, beta2, eps, weightDecay, maxGradNorm } = this.options;
    const { m, v } = this.state;
    if (params.length !== m.length || grad.length !== m.length) {
      throw new Error(`AdamW: expected ${m.length} values, got ${params.length} / ${grad.length}`);
    }
    let sq = 0;
    for (let i = 0; i < grad.length; i++) sq += grad[i]! * grad[i]!;
    const gradNorm = Math.sqrt(sq);
    if (!Number.isFinite(gradNorm)) throw new NonFiniteGradientError();
    // torch.nn.utils.clip_grad_norm_: scale = max_norm / (norm + 1e-6), only when < 1.
    const clipScale = maxGradNorm > 0 ? Math.min(1, maxGradNorm / (gradNorm + 1e-6)) : 1;
    const t = ++this.state.step;
    const bc1 = 1 - beta1 ** t;
    const bc2 = 1 - beta2 ** t;
    for (let i = 0; i < params.length; i++) {
      const g = grad[i]! * clipScale;
      m[i] = beta1 * m[i]! + (1 - beta1) * g;
      v[i] = beta2 * v[i]! + (1 - beta2) * g * g;
      const p = params[i]! * (1 - lr * weightDecay);
      params[i] = p - (lr * (m[i]! / bc1)) / (Math.sqrt(v[i]! / bc2) + eps);
    }
    return { gradNorm, clipScale };
  }
}
