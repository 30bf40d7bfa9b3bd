import { type Rng, throwIfAborted } from '@cbtm/core';
import type { DistanceEngine } from './squared-distances.js';

/**
 * Greedy k-means++ (Arthur & Vassilvitskii, with scikit-learn's 2 + ⌊ln k⌋ local trials):
 * each new center is the best of a few candidates drawn with probability ∝ D², the squared
 * distance to the nearest center chosen so far. When every point already coincides with a
 * center (duplicates), candidates are drawn uniformly. Returns k × d centers.
 */
export function kmeansPlusPlus(
  engine: DistanceEngine,
  points: Float32Array,
  k: number,
  rng: Rng,
  signal?: AbortSignal,
): Float32Array {
  const { n, d } = engine;
  const centers = new Float32Array(k * d);
  const trials = 2 + Math.floor(Math.log(k));
  const first = rng.int(0, n - 1);
  centers.set(points.subarray(first * d, first * d + d), 0);
  const closest = new Float64Array(n);
  {
    const { data, stride } = engine.distances(centers.subarray(0, d), 1);
    for (let i = 0; i < n; i++) closest[i] = data[i * stride]!;
  }
  let potential = 0;
  for (let i = 0; i < n; i++) potential += closest[i]!;
  const candidates = new Int32Array(trials);
  const candidateRows = new Float32Array(trials * d);
  const draws = new Float64Array(trials);
  let buffer: Float32Array | undefined;
  for (let c = 1; c < k; c++) {
    if (c % 8 === 0) throwIfAborted(signal);
    if (potential > 0) {
      for (let t = 0; t < trials; t++) draws[t] = rng.float() * potential;
      const order = Array.from(draws.keys()).sort((a, b) => draws[a]! - draws[b]!);
      // One pass of the running sum serves all sorted draws (searchsorted, side 'left').
      let cum = 0;
      let i = 0;
      for (const t of order) {
        while (i < n - 1 && cum + closest[i]! < draws[t]!) {
          cum += closest[i]!;
          i += 1;
        }
        candidates[t] = i;
      }
    } else {
      for (let t = 0; t < trials; t++) candidates[t] = rng.int(0, n - 1);
    }
    for (let t = 0; t < trials; t++) {
      const p = candidates[t]!;
      candidateRows.set(points.subarray(p * d, p * d + d), t * d);
    }
    const result = engine.distances(candidateRows, trials, buffer);
    buffer = result.data;
    const { data, stride } = result;
    let best = 0;
    let bestPotential = Number.POSITIVE_INFINITY;
    for (let t = 0; t < trials; t++) {
      let pot = 0;
      for (let i = 0; i < n; i++) pot += Math.min(closest[i]!, data[i * stride + t]!);
      if (pot < bestPotential) {
        bestPotential = pot;
        best = t;
      }
    }
    for (let i = 0; i < n; i++) closest[i] = Math.min(closest[i]!, data[i * stride + best]!);
    potential = bestPotential;
    centers.set(candidateRows.subarray(best * d, best * d + d), c * d);
  }
  return centers;
}

/** k distinct points chosen uniformly at random as the initial centers. */
export function randomInit(
  points: Float32Array,
  n: number,
  d: number,
  k: number,
  rng: Rng,
): Float32Array {
  const centers = new Float32Array(k * d);
  for (const [c, p] of sampleIndices(n, k, rng).entries()) {
    centers.set(points.subarray(p * d, p * d + d), c * d);
  }
  return centers;
}

/**
 * m distinct indices of [0, n) uniformly at random (Floyd's algorithm), in increasing order.
 */
export function sampleIndices(n: number, m: number, rng: Rng): Int32Array {
  const chosen = new Set<number>();
  for (let j = n - m; j < n; j++) {
    const t = rng.int(0, j);
    chosen.add(chosen.has(t) ? j : t);
  }
  return Int32Array.from(chosen).sort();
}
