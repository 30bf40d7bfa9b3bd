import { InvalidArgumentError } from '@cbtm/core';

/**
 * The mean of the rows of each cluster: centroids for a given assignment (e.g. the
 * random-cluster baseline's, so it is routed exactly as the fitted clusters are). Sums run in
 * float64; an empty cluster's mean is the origin.
 *
 * @example
 * ```ts
 * clusterMeans(Float32Array.of(0, 0, 2, 2, 5, 5), 3, 2, Int32Array.of(0, 0, 1), 2);
 * // Float32Array [1, 1, 5, 5]
 * ```
 */
export function clusterMeans(
  points: Float32Array,
  n: number,
  d: number,
  assignments: ArrayLike<number>,
  k: number,
): Float32Array {
  if (points.length < n * d || assignments.length < n) {
    throw new InvalidArgumentError(
      `clusterMeans needs n × d = ${n * d} values and n = ${n} assignments, got ${points.length} and ${assignments.length}.`,
    );
  }
  const sums = new Float64Array(k * d);
  const counts = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    const g = assignments[i]!;
    if (!(Number.isInteger(g) && g >= 0 && g < k))
      throw new InvalidArgumentError(`assignments[${i}] is ${g}, outside [0, ${k}).`);
    counts[g] += 1;
    for (let c = 0; c < d; c++) sums[g * d + c] += points[i * d + c]!;
  }
  const out = new Float32Array(k * d);
  for (let g = 0; g < k; g++)
    for (let c = 0; c < d; c++) out[g * d + c] = counts[g]! > 0 ? sums[g * d + c]! / counts[g]! : 0;
  return out;
}
