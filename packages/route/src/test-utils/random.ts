import { Rng } from '@cbtm/core';

/** `n` random unit vectors of dimension `d`, row-major, seeded. */
export function randomUnitRows(n: number, d: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n * d);
  for (let r = 0; r < n; r++) {
    let norm = 0;
    for (let i = 0; i < d; i++) {
      const x = rng.normal();
      out[r * d + i] = x;
      norm += x * x;
    }
    norm = Math.sqrt(norm);
    for (let i = 0; i < d; i++) out[r * d + i]! /= norm;
  }
  return out;
}

/**
 * Independent brute-force reference: all (index, squared distance) pairs sorted by distance
 * then index, computed with a different loop than the library's.
 */
export function bruteForce(
  query: ArrayLike<number>,
  centroids: Float32Array,
  k: number,
  d: number,
): { index: number; d2: number }[] {
  const all: { index: number; d2: number }[] = [];
  for (let j = 0; j < k; j++) {
    let s = 0;
    for (let i = d - 1; i >= 0; i--) s += (query[i]! - centroids[j * d + i]!) ** 2;
    all.push({ index: j, d2: s });
  }
  return all.sort((a, b) => a.d2 - b.d2 || a.index - b.index);
}
