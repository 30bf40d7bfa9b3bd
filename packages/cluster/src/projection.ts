import { InvalidArgumentError } from '@cbtm/core';

/**
 * Principal component analysis to two dimensions: each of n rows (n × d, row-major) centred
 * and projected onto the first two principal components, as scikit-learn's
 * `PCA(n_components=2).fit_transform` does. The components come from power iteration with
 * deflation on the covariance matrix from a fixed start, and each is signed so that its
 * largest coordinate is positive, so the same rows always give the same map. With d = 1 the
 * second coordinate is 0. Returns n × 2 values, row-major.
 *
 * @example
 * ```ts
 * const xy = projectTo2d(Float32Array.of(0, 0, 1, 1, 2, 2), 3, 2); // points on a line: y ≈ 0
 * ```
 */
export function projectTo2d(rows: Float32Array, n: number, d: number): Float64Array {
  if (!(Number.isInteger(n) && n >= 0 && Number.isInteger(d) && d >= 1) || rows.length < n * d) {
    throw new InvalidArgumentError(
      `projectTo2d needs n × d values (n ≥ 0, d ≥ 1): got ${rows.length} values for n = ${n}, d = ${d}.`,
    );
  }
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) mean[c] += rows[i * d + c]! / n;
  const cov = new Float64Array(d * d);
  const centered = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < d; c++) centered[c] = rows[i * d + c]! - mean[c]!;
    for (let a = 0; a < d; a++) {
      const va = centered[a]!;
      if (va === 0) continue;
      for (let b = a; b < d; b++) cov[a * d + b] += va * centered[b]!;
    }
  }
  for (let a = 0; a < d; a++) for (let b = 0; b < a; b++) cov[a * d + b] = cov[b * d + a]!;
  const components: Float64Array[] = [];
  for (let comp = 0; comp < Math.min(2, d); comp++) {
    let v = new Float64Array(d).map((_, i) => 1 + ((i * 7919) % 13) / 13);
    for (let iter = 0; iter < 200; iter++) {
      const next = new Float64Array(d);
      for (let a = 0; a < d; a++) {
        let s = 0;
        for (let b = 0; b < d; b++) s += cov[a * d + b]! * v[b]!;
        next[a] = s;
      }
      for (const u of components) {
        let dot = 0;
        for (let a = 0; a < d; a++) dot += next[a]! * u[a]!;
        for (let a = 0; a < d; a++) next[a] -= dot * u[a]!;
      }
      let norm = 0;
      for (let a = 0; a < d; a++) norm += next[a]! * next[a]!;
      norm = Math.sqrt(norm);
      if (norm === 0) break;
      let delta = 0;
      for (let a = 0; a < d; a++) {
        const x = next[a]! / norm;
        delta = Math.max(delta, Math.abs(x - v[a]!));
        next[a] = x;
      }
      v = next;
      if (delta < 1e-9) break;
    }
    // A fixed sign, so the map does not flip between runs.
    let big = 0;
    for (let a = 1; a < d; a++) if (Math.abs(v[a]!) > Math.abs(v[big]!)) big = a;
    if (v[big]! < 0) for (let a = 0; a < d; a++) v[a] = -v[a]!;
    components.push(v);
  }
  const out = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) {
    components.forEach((u, c) => {
      let s = 0;
      for (let a = 0; a < d; a++) s += (rows[i * d + a]! - mean[a]!) * u[a]!;
      out[i * 2 + c] = s;
    });
  }
  return out;
}
