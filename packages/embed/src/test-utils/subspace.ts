import { Rng } from '@cbtm/core';
import { jacobiSvd, thinQr } from '../dense-linalg.js';

/**
 * Cosines of the principal angles between the column spans of two n × k matrices given as
 * arrays of rows (1 = same direction), smallest first.
 */
export function principalCosines(a: number[][], b: number[][]): number[] {
  const n = a.length;
  const k = a[0]!.length;
  const rng = new Rng(1);
  const qa = thinQr(Float64Array.from(a.flat()), n, k, rng).q;
  const qb = thinQr(Float64Array.from(b.flat()), n, k, rng).q;
  const m = new Float64Array(k * k);
  for (let i = 0; i < n; i++) {
    for (let x = 0; x < k; x++)
      for (let y = 0; y < k; y++) m[x * k + y]! += qa[i * k + x]! * qb[i * k + y]!;
  }
  return Array.from(jacobiSvd(m, k).s).sort((x, y) => x - y);
}
