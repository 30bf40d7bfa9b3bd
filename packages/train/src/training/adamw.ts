/**
 * Hyper-parameters of {@link AdamW}.
 *
 * @example
 * ```ts
 * new AdamW(sizes, { beta2: 0.99, weightDecay: 0 });
 * ```
 */
export interface AdamWOptions {
  /** @default 0.9 */
  readonly beta1?: number;
  /** @default 0.95 */
  readonly beta2?: number;
  /** @default 1e-8 */
  readonly epsilon?: number;
  /** Decoupled weight decay, applied to weights flagged for decay. @default 0.1 */
  readonly weightDecay?: number;
}

/**
 * Default {@link AdamWOptions}.
 *
 * @example
 * ```ts
 * const opt = new AdamW(sizes, defaultAdamWOptions);
 * ```
 */
export const defaultAdamWOptions = {
  beta1: 0.9,
  beta2: 0.95,
  epsilon: 1e-8,
  weightDecay: 0.1,
} as const satisfies AdamWOptions;

/**
 * Serializable optimizer state: the step count and both moment estimates per weight.
 *
 * @example
 * ```ts
 * const restored = new AdamW(sizes, {}, saved.state());
 * ```
 */
export interface AdamWState {
  readonly t: number;
  readonly m: Float32Array[];
  readonly v: Float32Array[];
}

/**
 * AdamW (Loshchilov & Hutter) on plain Float32Arrays, as PyTorch computes it: decay
 * `w ← w·(1 − lr·wd)`, then the bias-corrected Adam step. Running it in JS keeps the state
 * exact to checkpoint and identical on every backend.
 *
 * @example
 * ```ts
 * const opt = new AdamW([w.length], { weightDecay: 0.1 });
 * opt.step([w], [g], [true], 1e-3);
 * ```
 */
export class AdamW {
  readonly options: Required<AdamWOptions>;
  #t: number;
  readonly #m: Float32Array[];
  readonly #v: Float32Array[];

  constructor(sizes: readonly number[], options: AdamWOptions = {}, state?: AdamWState) {
    this.options = { ...defaultAdamWOptions, ...options };
    if (state) {
      if (state.m.length !== sizes.length || state.m.some((m, i) => m.length !== sizes[i])) {
        throw new Error('AdamW state does not match the weights.');
      }
      this.#t = state.t;
      this.#m = state.m.map((a) => Float32Array.from(a));
      this.#v = state.v.map((a) => Float32Array.from(a));
    } else {
      this.#t = 0;
      this.#m = sizes.map((n) => new Float32Array(n));
      this.#v = sizes.map((n) => new Float32Array(n));
    }
  }

  /** Steps taken so far. */
  get t(): number {
    return this.#t;
  }

  /**
   * One update, in place on `weights`. `gradScale` multiplies every gradient first (global-norm
   * clipping passes clip/‖g‖ here).
   */
  step(
    weights: Float32Array[],
    grads: Float32Array[],
    decay: readonly boolean[],
    lr: number,
    gradScale = 1,
  ): void {
    const { beta1: b1, beta2: b2, epsilon: eps, weightDecay: wd } = this.options;
    this.#t += 1;
    const c1 = 1 - b1 ** this.#t;
    const c2 = 1 - b2 ** this.#t;
    const stepSize = lr / c1;
    const sqrtC2 = Math.sqrt(c2);
    for (let p = 0; p < weights.length; p++) {
      const w = weights[p]!;
      const g = grads[p]!;
      const m = this.#m[p]!;
      const v = this.#v[p]!;
      const shrink = decay[p] ? 1 - lr * wd : 1;
      for (let i = 0; i < w.length; i++) {
        const gi = g[i]! * gradScale;
        const mi = b1 * m[i]! + (1 - b1) * gi;
        const vi = b2 * v[i]! + (1 - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        w[i] = w[i]! * shrink - (stepSize * mi) / (Math.sqrt(vi) / sqrtC2 + eps);
      }
    }
  }

  /** A copy of the state, for checkpoints. */
  state(): AdamWState {
    return { t: this.#t, m: this.#m.map((a) => a.slice()), v: this.#v.map((a) => a.slice()) };
  }
}

/**
 * Scale that clips gradients to global L2 norm `maxNorm` (1 when already within it), and the
 * norm itself.
 *
 * @example
 * ```ts
 * const { scale, norm } = clipScale(grads, 1.0);
 * ```
 */
export function clipScale(
  grads: readonly Float32Array[],
  maxNorm: number,
): { scale: number; norm: number } {
  let sq = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) sq += g[i]! * g[i]!;
  const norm = Math.sqrt(sq);
  if (!(maxNorm > 0) || !Number.isFinite(maxNorm) || norm <= maxNorm) return { scale: 1, norm };
  return { scale: maxNorm / (norm + 1e-6), norm };
}
