import { InvalidArgumentError } from '@cbtm/core';
import type { RouteResult } from '@cbtm/route';

/**
 * How the ensemble weights its experts.
 *
 * - `'distance'` (c-BTM): w_j ∝ exp(−‖h − c_j‖²/T) from the context embedding's distance to
 *   each cluster centroid.
 * - `'cached-prior'` (BTM): fixed weights w_j = π_j, a prior over experts estimated once from
 *   held-out documents ({@link Ensemble.estimatePrior}) and used for every position.
 * - `'updating-prior'` (BTM): the posterior over experts given the text so far,
 *   w_j(t) ∝ π_j · p_j(x_<t), updated after every token; π is the cached prior when one is
 *   given, else uniform. Every expert runs, since each one's likelihood of the text is needed.
 *
 * @example
 * ```ts
 * await ensemble.scoreSequence(text, { mixing: 'updating-prior', topK: 2 });
 * ```
 */
export type MixingRule = 'distance' | 'cached-prior' | 'updating-prior';

/**
 * The mixing rules, for flag and request validation.
 *
 * @example
 * ```ts
 * MIXING_RULES.includes(flag as MixingRule);
 * ```
 */
export const MIXING_RULES: readonly MixingRule[] = Object.freeze([
  'distance',
  'cached-prior',
  'updating-prior',
]);

/**
 * Normalized posterior over experts from their log-likelihoods of a text and a prior:
 * w_j ∝ π_j · exp(ℓ_j), computed in log space (the largest term is factored out, so long texts
 * with log-likelihoods in the thousands never underflow). Experts with prior 0 get weight 0.
 *
 * @param logLikelihoods - ℓ_j = Σ_t log p_j(x_t | x_<t) for each expert.
 * @param prior - π_j ≥ 0 aligned with `logLikelihoods` (uniform when absent).
 *
 * @example
 * ```ts
 * // ℓ = [log 0.2, log 0.6], uniform prior → [0.25, 0.75]
 * posteriorWeights([Math.log(0.2), Math.log(0.6)]);
 * ```
 */
export function posteriorWeights(
  logLikelihoods: ArrayLike<number>,
  prior?: ArrayLike<number>,
): Float64Array {
  const n = logLikelihoods.length;
  if (prior && prior.length !== n) {
    throw new InvalidArgumentError(`Got ${n} log-likelihoods but a prior over ${prior.length}.`);
  }
  const logs = new Float64Array(n);
  let max = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < n; j++) {
    const p = prior ? prior[j]! : 1;
    if (!(p >= 0) || !Number.isFinite(p)) {
      throw new InvalidArgumentError(`Prior ${j} is ${p}; a prior must be finite and ≥ 0.`);
    }
    logs[j] = p === 0 ? Number.NEGATIVE_INFINITY : Math.log(p) + logLikelihoods[j]!;
    if (logs[j]! > max) max = logs[j]!;
  }
  const out = new Float64Array(n);
  if (max === Number.NEGATIVE_INFINITY || Number.isNaN(max)) {
    throw new InvalidArgumentError(
      'Every expert has prior 0 or log-likelihood −∞; the posterior is undefined.',
    );
  }
  let sum = 0;
  for (let j = 0; j < n; j++) {
    out[j] = Math.exp(logs[j]! - max);
    sum += out[j]!;
  }
  for (let j = 0; j < n; j++) out[j]! /= sum;
  return out;
}

/**
 * Keeps the `topK` largest weights (ties to the lower expert id), renormalized, as a route whose
 * experts come largest weight first. `distances` hold −log w (no centroid distance is involved).
 *
 * @param experts - expert ids aligned with `weights`.
 *
 * @example
 * ```ts
 * topWeightsRoute([0, 1, 2], [0.2, 0.5, 0.3], 2); // experts [1, 2], weights [0.625, 0.375]
 * ```
 */
export function topWeightsRoute(
  experts: readonly number[],
  weights: ArrayLike<number>,
  topK = Number.POSITIVE_INFINITY,
): RouteResult {
  const order = experts
    .map((_, i) => i)
    .filter((i) => weights[i]! > 0)
    .sort((a, b) => weights[b]! - weights[a]! || experts[a]! - experts[b]!)
    .slice(0, Math.max(1, Math.min(topK, experts.length)));
  let sum = 0;
  for (const i of order) sum += weights[i]!;
  return {
    experts: order.map((i) => experts[i]!),
    weights: Float32Array.from(order, (i) => weights[i]! / sum),
    distances: Float32Array.from(order, (i) => -Math.log(weights[i]! / sum)),
  };
}

/**
 * The updating-prior route of every position of a sequence: at position t, the posterior over
 * `experts` given the tokens before t, w_j(t) ∝ π_j · Π_{s<t} p_j(x_s | x_<s), cut to its `topK`
 * largest and renormalized. Position 0 has seen nothing, so it mixes by the prior alone.
 *
 * @param targetLogProbs - per expert (aligned with `experts`), log p_j of each target token.
 * @param prior - π over `experts` (uniform when absent).
 *
 * @example
 * ```ts
 * // Two experts; expert 1 predicted the first token 3× better, so it leads at position 1.
 * const routes = updatingPriorRoutes([0, 1], [Float64Array.of(Math.log(0.1), 0), Float64Array.of(Math.log(0.3), 0)]);
 * routes[1].weights; // [0.75, 0.25] for experts [1, 0]
 * ```
 */
export function updatingPriorRoutes(
  experts: readonly number[],
  targetLogProbs: readonly ArrayLike<number>[],
  prior?: ArrayLike<number>,
  topK = Number.POSITIVE_INFINITY,
): RouteResult[] {
  if (targetLogProbs.length !== experts.length) {
    throw new InvalidArgumentError(
      `Got ${experts.length} experts but log-probabilities of ${targetLogProbs.length}.`,
    );
  }
  const n = targetLogProbs[0]?.length ?? 0;
  const ll = new Float64Array(experts.length);
  const routes: RouteResult[] = [];
  for (let t = 0; t < n; t++) {
    routes.push(topWeightsRoute(experts, posteriorWeights(ll, prior), topK));
    for (let j = 0; j < experts.length; j++) ll[j]! += targetLogProbs[j]![t]!;
  }
  return routes;
}
