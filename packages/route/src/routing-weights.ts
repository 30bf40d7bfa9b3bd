import { InvalidArgumentError } from '@cbtm/core';
import type { RouteResult } from './router.js';

/**
 * Mixture weights from squared distances: w_j ∝ exp(−d_j² / T), renormalized to sum to 1.
 *
 * The input is already squared (the paper's formula); it is not squared again, which is the
 * reference implementation's exp(−d⁴/T) bug. The minimum is subtracted before `exp`, so tiny
 * temperatures and far-away centroids never underflow to 0/0.
 *
 * @param squaredDistances - d_j² for each selected centroid.
 * @param temperature - T > 0; smaller is sharper.
 * @returns weights as float64 (callers narrow to float32 when they store them).
 *
 * @example
 * ```ts
 * routingWeights([0, Math.LN2 * 0.1], 0.1); // Float64Array [2/3, 1/3]
 * ```
 */
export function routingWeights(
  squaredDistances: ArrayLike<number>,
  temperature: number,
): Float64Array {
  if (!(temperature > 0) || !Number.isFinite(temperature)) {
    throw new InvalidArgumentError(
      `temperature must be a finite number > 0, got ${temperature}. Use e.g. 0.1 (the paper's default).`,
    );
  }
  const n = squaredDistances.length;
  const out = new Float64Array(n);
  if (n === 0) return out;
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const d = squaredDistances[i]!;
    if (Number.isNaN(d)) throw new InvalidArgumentError(`squared distance ${i} is NaN.`);
    if (d < min) min = d;
  }
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const w = Math.exp(-(squaredDistances[i]! - min) / temperature);
    out[i] = w;
    sum += w;
  }
  for (let i = 0; i < n; i++) out[i]! /= sum;
  return out;
}

/**
 * Builds a {@link RouteResult} from the nearest centroids: exp(−d²/T) weights over them, with
 * the squared distances as float32. Every router ends its `route` with this.
 *
 * @example
 * ```ts
 * const r = routeResult({ indices: [2, 0], distances: [0.1, 0.3] }, 0.1);
 * ```
 */
export function routeResult(
  nearest: { readonly indices: number[]; readonly distances: ArrayLike<number> },
  temperature: number,
): RouteResult {
  return {
    experts: nearest.indices,
    weights: Float32Array.from(routingWeights(nearest.distances, temperature)),
    distances: Float32Array.from(nearest.distances),
  };
}
