import { InvalidArgumentError } from '@cbtm/core';

/**
 * log Σ exp(x_i), computed stably by factoring out the maximum. Returns −∞ for an empty input
 * or when every term is −∞.
 *
 * @example
 * ```ts
 * logSumExp([Math.log(1), Math.log(3)]); // Math.log(4)
 * ```
 */
export function logSumExp(values: ArrayLike<number>): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) if (values[i]! > max) max = values[i]!;
  if (max === Number.NEGATIVE_INFINITY) return max;
  if (max === Number.POSITIVE_INFINITY) return max;
  let s = 0;
  for (let i = 0; i < values.length; i++) s += Math.exp(values[i]! - max);
  return max + Math.log(s);
}

function checkWeights(weights: ArrayLike<number>, n: number): void {
  if (weights.length !== n) {
    throw new InvalidArgumentError(
      `Got ${n} expert log-probabilities but ${weights.length} weights.`,
    );
  }
  for (let j = 0; j < n; j++) {
    if (!(weights[j]! >= 0)) {
      throw new InvalidArgumentError(`Mixture weight ${j} is ${weights[j]}; weights must be ≥ 0.`);
    }
  }
}

/**
 * The mixture's log-probability of one token: log Σ_j w_j p_j, from the experts'
 * log-probabilities log p_j, in log space (log w_j + log p_j, then log-sum-exp), so tiny
 * probabilities never underflow. Experts with weight 0 do not contribute.
 *
 * @param expertLogProbs - log p_j(x_t | x_<t) for each expert j in the mixture.
 * @param weights - w_j ≥ 0, aligned with `expertLogProbs` (normally summing to 1).
 *
 * @example
 * ```ts
 * // p = [0.5, 0.1], w = [0.75, 0.25] → log(0.75·0.5 + 0.25·0.1) = log(0.4)
 * mixLogProb([Math.log(0.5), Math.log(0.1)], [0.75, 0.25]); // ≈ Math.log(0.4)
 * ```
 */
export function mixLogProb(expertLogProbs: ArrayLike<number>, weights: ArrayLike<number>): number {
  const n = expertLogProbs.length;
  checkWeights(weights, n);
  let max = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < n; j++) {
    if (weights[j] === 0) continue;
    const v = Math.log(weights[j]!) + expertLogProbs[j]!;
    if (v > max) max = v;
  }
  if (max === Number.NEGATIVE_INFINITY) return max;
  let s = 0;
  for (let j = 0; j < n; j++) {
    if (weights[j] === 0) continue;
    s += Math.exp(Math.log(weights[j]!) + expertLogProbs[j]! - max);
  }
  return max + Math.log(s);
}

/**
 * The route of one position: which experts mix there, and with what weights.
 *
 * @example
 * ```ts
 * const step: MixtureStep = { experts: [3, 0], weights: Float32Array.of(0.9, 0.1) };
 * ```
 */
export interface MixtureStep {
  readonly experts: readonly number[];
  readonly weights: ArrayLike<number>;
}

/**
 * Per-position mixture log-probabilities of a whole sequence. `targetLogProbs.get(j)[t]` is
 * expert j's log-probability of the actual token at position t; `steps[t]` says which experts
 * mix at t. Every expert a step names must be in `targetLogProbs`.
 *
 * @example
 * ```ts
 * const lp = mixSequence(
 *   new Map([[0, Float64Array.of(Math.log(0.5))], [1, Float64Array.of(Math.log(0.1))]]),
 *   [{ experts: [0, 1], weights: [0.75, 0.25] }],
 * ); // Float64Array [log 0.4]
 * ```
 */
export function mixSequence(
  targetLogProbs: ReadonlyMap<number, ArrayLike<number>>,
  steps: readonly MixtureStep[],
): Float64Array {
  const out = new Float64Array(steps.length);
  const lp: number[] = [];
  for (let t = 0; t < steps.length; t++) {
    const { experts, weights } = steps[t]!;
    lp.length = experts.length;
    for (let i = 0; i < experts.length; i++) {
      const row = targetLogProbs.get(experts[i]!);
      if (!row) {
        throw new InvalidArgumentError(
          `Position ${t} mixes expert ${experts[i]}, which was not run.`,
        );
      }
      if (row.length !== steps.length) {
        throw new InvalidArgumentError(
          `Expert ${experts[i]} has ${row.length} target log-probabilities for ${steps.length} positions.`,
        );
      }
      lp[i] = row[t]!;
    }
    out[t] = mixLogProb(lp, weights);
  }
  return out;
}

/**
 * Mixes whole next-token distributions: out[v] = log Σ_j w_j exp(rows[j][v]). Used when
 * generating, where the next token is not known yet.
 *
 * @param rows - one log-probability row of length V per expert.
 *
 * @example
 * ```ts
 * const mixed = mixDistributions([Float32Array.of(Math.log(0.5), Math.log(0.5)), Float32Array.of(0, -Infinity)], [0.5, 0.5]);
 * // exp(mixed) = [0.75, 0.25]
 * ```
 */
export function mixDistributions(
  rows: readonly ArrayLike<number>[],
  weights: ArrayLike<number>,
): Float64Array {
  checkWeights(weights, rows.length);
  if (rows.length === 0)
    throw new InvalidArgumentError('mixDistributions needs at least one expert.');
  const V = rows[0]!.length;
  for (const r of rows) {
    if (r.length !== V)
      throw new InvalidArgumentError('Every expert row must have the same vocabulary size.');
  }
  const out = new Float64Array(V);
  const logW = Array.from({ length: rows.length }, (_, j) => Math.log(weights[j]!));
  for (let v = 0; v < V; v++) {
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < rows.length; j++) {
      if (weights[j] === 0) continue;
      const x = logW[j]! + rows[j]![v]!;
      if (x > max) max = x;
    }
    if (max === Number.NEGATIVE_INFINITY) {
      out[v] = max;
      continue;
    }
    let s = 0;
    for (let j = 0; j < rows.length; j++) {
      if (weights[j] === 0) continue;
      s += Math.exp(logW[j]! + rows[j]![v]! - max);
    }
    out[v] = max + Math.log(s);
  }
  return out;
}

/**
 * The `n` most likely entries of a log-probability row, most likely first, as `[id, logProb]`;
 * ties keep the lower id first.
 *
 * @example
 * ```ts
 * topLogProbs(Float64Array.of(-2, -0.5, -1, -0.5), 2); // [[1, -0.5], [3, -0.5]]
 * ```
 */
export function topLogProbs(logProbs: ArrayLike<number>, n: number): [number, number][] {
  if (!Number.isInteger(n) || n < 0) {
    throw new InvalidArgumentError(`topLogProbs needs a whole number n ≥ 0, got ${n}.`);
  }
  const best: [number, number][] = [];
  if (n === 0) return best;
  for (let v = 0; v < logProbs.length; v++) {
    const lp = logProbs[v]!;
    if (best.length === n && !(lp > best[n - 1]![1])) continue;
    // Insert after every entry at least as likely: ids rise within a tie.
    let i = best.length;
    while (i > 0 && best[i - 1]![1] < lp) i--;
    best.splice(i, 0, [v, lp]);
    if (best.length > n) best.pop();
  }
  return best;
}
