/**
 * Purity and normalized mutual information (arithmetic normalization, as scikit-learn's
 * `normalized_mutual_info_score`) of cluster ids against labels.
 *
 * @example
 * ```ts
 * labelAgreement(Int32Array.of(0, 0, 1, 1), ['a', 'a', 'b', 'b'], 2); // { purity: 1, nmi: 1 }
 * ```
 */
export function labelAgreement(
  clusters: Int32Array,
  labels: readonly string[],
  k: number,
): { purity: number; nmi: number } {
  const n = clusters.length;
  const names = [...new Set(labels)].sort();
  const index = new Map(names.map((l, i) => [l, i]));
  const table = Array.from({ length: k }, () => new Float64Array(names.length));
  for (let i = 0; i < n; i++) table[clusters[i]!]![index.get(labels[i]!)!] += 1;
  let majority = 0;
  for (const row of table) majority += Math.max(0, ...row);
  const rowSums = table.map((row) => row.reduce((a, b) => a + b, 0));
  const colSums = names.map((_, c) => table.reduce((a, row) => a + row[c]!, 0));
  let mi = 0;
  for (let j = 0; j < k; j++) {
    for (let c = 0; c < names.length; c++) {
      const nij = table[j]![c]!;
      if (nij > 0) mi += (nij / n) * Math.log((n * nij) / (rowSums[j]! * colSums[c]!));
    }
  }
  const entropy = (sums: ArrayLike<number>) => {
    let h = 0;
    for (let i = 0; i < sums.length; i++)
      if (sums[i]! > 0) h -= (sums[i]! / n) * Math.log(sums[i]! / n);
    return h;
  };
  const hu = entropy(rowSums);
  const hv = entropy(colSums);
  // scikit-learn: NMI is 1 when both labelings are a single class, 0 when only one is.
  const nmi = hu === 0 && hv === 0 ? 1 : hu === 0 || hv === 0 ? 0 : mi / ((hu + hv) / 2);
  return { purity: majority / n, nmi: Math.max(0, Math.min(1, nmi)) };
}
