import { InvalidArgumentError, type Rng } from '@cbtm/core';

/**
 * How to draw the next token from a distribution.
 *
 * @example
 * ```ts
 * const opts: SamplingOptions = { temperature: 0.8, topP: 0.95, topK: 40 };
 * ```
 */
export interface SamplingOptions {
  /**
   * Divides the log-probabilities before sampling; 0 means greedy (argmax).
   * @default 1
   */
  readonly temperature?: number;
  /**
   * Keep only the smallest set of most likely tokens whose probability reaches `topP`.
   * @default 1 (off)
   */
  readonly topP?: number;
  /**
   * Keep only the `topK` most likely tokens; 0 turns it off.
   * @default 0 (off)
   */
  readonly topK?: number;
}

/**
 * Defaults of {@link SamplingOptions}: plain sampling from the distribution.
 *
 * @example
 * ```ts
 * sampleToken(lp, { ...defaultSamplingOptions, temperature: 0.7 }, rng);
 * ```
 */
export const defaultSamplingOptions: Required<SamplingOptions> = Object.freeze({
  temperature: 1,
  topP: 1,
  topK: 0,
});

/** Validates sampling options. @internal */
export function resolveSamplingOptions(options: SamplingOptions = {}): Required<SamplingOptions> {
  const o = { ...defaultSamplingOptions, ...options };
  if (!(o.temperature >= 0) || !Number.isFinite(o.temperature)) {
    throw new InvalidArgumentError(
      `temperature must be a finite number ≥ 0, got ${o.temperature}.`,
    );
  }
  if (!(o.topP > 0 && o.topP <= 1)) {
    throw new InvalidArgumentError(`topP must be in (0, 1], got ${o.topP}.`);
  }
  if (!Number.isInteger(o.topK) || o.topK < 0) {
    throw new InvalidArgumentError(`topK must be an integer ≥ 0 (0 = off), got ${o.topK}.`);
  }
  return o;
}

/**
 * Draws one token id from log-probabilities with temperature, top-k and top-p (nucleus)
 * filtering, using `rng` so the same seed gives the same draw. Candidates are ordered by
 * probability and then by id, so ties never depend on sort stability.
 *
 * @example
 * ```ts
 * const id = sampleToken(mixedLogProbs, { temperature: 0.8, topP: 0.9 }, new Rng(42));
 * ```
 */
export function sampleToken(
  logProbs: ArrayLike<number>,
  options: SamplingOptions,
  rng: Rng,
): number {
  const { temperature, topP, topK } = resolveSamplingOptions(options);
  const V = logProbs.length;
  if (V === 0) throw new InvalidArgumentError('Cannot sample from an empty distribution.');
  if (temperature === 0) {
    let best = -1;
    for (let v = 0; v < V; v++) {
      if (!Number.isNaN(logProbs[v]!) && (best < 0 || logProbs[v]! > logProbs[best]!)) best = v;
    }
    if (best < 0 || logProbs[best] === Number.NEGATIVE_INFINITY) {
      throw new InvalidArgumentError('Every token has probability 0.');
    }
    return best;
  }
  const order: number[] = [];
  for (let v = 0; v < V; v++) if (logProbs[v]! > Number.NEGATIVE_INFINITY) order.push(v);
  if (order.length === 0) throw new InvalidArgumentError('Every token has probability 0.');
  order.sort((a, b) => logProbs[b]! - logProbs[a]! || a - b);
  if (topK > 0 && order.length > topK) order.length = topK;
  const max = logProbs[order[0]!]! / temperature;
  const p = order.map((v) => Math.exp(logProbs[v]! / temperature - max));
  let total = p.reduce((a, b) => a + b, 0);
  if (topP < 1) {
    let cum = 0;
    let keep = 0;
    while (keep < p.length) {
      cum += p[keep]!;
      keep++;
      if (cum >= topP * total) break;
    }
    p.length = keep;
    order.length = keep;
    total = cum;
  }
  let u = rng.float() * total;
  for (let i = 0; i < p.length; i++) {
    u -= p[i]!;
    if (u < 0) return order[i]!;
  }
  return order[p.length - 1]!;
}
