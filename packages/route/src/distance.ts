/**
 * Squared Euclidean distance between `vec` and row `row` of a row-major `[k, d]` matrix,
 * accumulated in float64. Both routers use this one function, so their distances agree bit
 * for bit.
 *
 * @example
 * ```ts
 * squaredDistanceToRow(new Float32Array([1, 0]), new Float32Array([0, 0, 1, 0]), 1, 2); // 0
 * ```
 */
export function squaredDistanceToRow(
  vec: ArrayLike<number>,
  matrix: Float32Array,
  row: number,
  d: number,
): number {
  const offset = row * d;
  let s = 0;
  for (let i = 0; i < d; i++) {
    const x = vec[i]! - matrix[offset + i]!;
    s += x * x;
  }
  return s;
}

/**
 * Picks the `topK` smallest entries of `distances` over the candidate rows `candidates`
 * (all rows when omitted), ordered by distance and then by index, so ties are deterministic.
 *
 * @returns the chosen indices and their distances, nearest first.
 *
 * @example
 * ```ts
 * selectNearest(new Float64Array([3, 1, 2]), 2); // { indices: [1, 2], distances: [1, 2] }
 * ```
 */
export function selectNearest(
  distances: Float64Array,
  topK: number,
  candidates?: ArrayLike<number>,
): { indices: number[]; distances: number[] } {
  const n = candidates ? candidates.length : distances.length;
  const take = Math.min(topK, n);
  const idx: number[] = [];
  const before = (a: number, b: number) =>
    distances[a]! < distances[b]! || (distances[a] === distances[b] && a < b);
  if (take * 8 < n) {
    // Small top-k of many: keep a sorted buffer and insert, O(n · take) worst case but
    // O(n) typically, with no allocation per element.
    for (let c = 0; c < n; c++) {
      const j = candidates ? candidates[c]! : c;
      if (idx.length === take) {
        if (!before(j, idx[take - 1]!)) continue;
        idx.pop();
      }
      let p = idx.length;
      idx.push(j);
      while (p > 0 && before(j, idx[p - 1]!)) {
        idx[p] = idx[p - 1]!;
        p--;
      }
      idx[p] = j;
    }
  } else {
    for (let c = 0; c < n; c++) idx.push(candidates ? candidates[c]! : c);
    idx.sort((a, b) => distances[a]! - distances[b]! || a - b);
    idx.length = take;
  }
  return { indices: idx, distances: idx.map((j) => distances[j]!) };
}
