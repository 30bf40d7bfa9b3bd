import { InvalidArgumentError } from '@cbtm/core';

/** A label × cluster count table. */
export interface Contingency {
  /** Row names: the distinct labels, sorted. */
  readonly labels: readonly string[];
  /** Number of clusters (columns). */
  readonly k: number;
  /** counts[r][j]: documents with label `labels[r]` in cluster j. */
  readonly counts: readonly (readonly number[])[];
}

/**
 * Builds the label × cluster contingency table.
 *
 * @example
 * ```ts
 * const t = contingencyTable(['a', 'a', 'b'], [0, 1, 1], 2);
 * // { labels: ['a', 'b'], k: 2, counts: [[1, 1], [0, 1]] }
 * ```
 */
export function contingencyTable(
  labels: ArrayLike<string | number>,
  clusters: ArrayLike<number>,
  k?: number,
): Contingency {
  if (labels.length !== clusters.length) {
    throw new InvalidArgumentError(
      `labels (${labels.length}) and clusters (${clusters.length}) differ in length.`,
    );
  }
  let kk = k ?? 0;
  if (k === undefined)
    for (let i = 0; i < clusters.length; i++) kk = Math.max(kk, clusters[i]! + 1);
  const names = [...new Set(Array.from(labels, String))].sort();
  const row = new Map(names.map((name, r) => [name, r]));
  const counts = names.map(() => new Array<number>(kk).fill(0));
  for (let i = 0; i < labels.length; i++) {
    const j = clusters[i]!;
    if (!(Number.isInteger(j) && j >= 0 && j < kk))
      throw new InvalidArgumentError(`cluster ${j} is outside [0, ${kk}).`);
    counts[row.get(String(labels[i]))!]![j]! += 1;
  }
  return { labels: names, k: kk, counts };
}

function entropyOf(counts: readonly number[], total: number): number {
  let h = 0;
  for (const c of counts) if (c > 0) h -= (c / total) * (Math.log(c) - Math.log(total));
  return h;
}

/**
 * Normalized mutual information between labels and clusters, with the arithmetic-mean
 * normalization MI / ((H(labels) + H(clusters)) / 2): scikit-learn's
 * `normalized_mutual_info_score` default, including its special cases (1 when both sides
 * have a single class, 0 when the mutual information is 0). Empty clusters are ignored.
 *
 * @example
 * ```ts
 * normalizedMutualInfo(contingencyTable(['a', 'a', 'b', 'b'], [1, 1, 0, 0])); // 1
 * ```
 */
export function normalizedMutualInfo(table: Contingency): number {
  const rows = table.counts.map((r) => r.reduce((s, c) => s + c, 0));
  const cols = new Array<number>(table.k).fill(0);
  for (const r of table.counts) {
    for (let j = 0; j < table.k; j++) cols[j]! += r[j]!;
  }
  const total = rows.reduce((s, c) => s + c, 0);
  const nonEmptyRows = rows.filter((c) => c > 0).length;
  const nonEmptyCols = cols.filter((c) => c > 0).length;
  if ((nonEmptyRows === 1 && nonEmptyCols === 1) || total === 0) return 1;
  let mi = 0;
  if (nonEmptyRows > 1 && nonEmptyCols > 1) {
    for (let r = 0; r < table.counts.length; r++) {
      for (let j = 0; j < table.k; j++) {
        const nij = table.counts[r]![j]!;
        if (nij === 0) continue;
        const term =
          (nij / total) *
          (Math.log(nij) - Math.log(total) - Math.log(rows[r]! * cols[j]!) + 2 * Math.log(total));
        if (Math.abs(term) >= Number.EPSILON) mi += term;
      }
    }
    mi = Math.max(0, mi);
  }
  if (mi === 0) return 0;
  const normalizer = Math.max(
    (entropyOf(rows, total) + entropyOf(cols, total)) / 2,
    Number.EPSILON,
  );
  return mi / normalizer;
}

/**
 * Purity: the fraction of documents whose cluster's majority label is their own label.
 *
 * @example
 * ```ts
 * purity(contingencyTable(['a', 'a', 'b'], [0, 0, 0])); // 2/3
 * ```
 */
export function purity(table: Contingency): number {
  let total = 0;
  let majority = 0;
  for (let j = 0; j < table.k; j++) {
    let best = 0;
    for (const r of table.counts) {
      total += r[j]!;
      best = Math.max(best, r[j]!);
    }
    majority += best;
  }
  return total === 0 ? 0 : majority / total;
}

/**
 * Documents per cluster: how many of `assignments` (or, with `rows`, of those rows only) are
 * in each of the k clusters.
 *
 * @example
 * ```ts
 * clusterSizes([0, 2, 2, 1], 3); // [1, 1, 2]
 * clusterSizes([0, 2, 2, 1], 3, [1, 2]); // [0, 0, 2]
 * ```
 */
export function clusterSizes(
  assignments: ArrayLike<number>,
  k: number,
  rows?: ArrayLike<number>,
): number[] {
  const sizes = new Array<number>(k).fill(0);
  const count = (j: number) => {
    if (!(Number.isInteger(j) && j >= 0 && j < k))
      throw new InvalidArgumentError(`cluster ${j} is outside [0, ${k}).`);
    sizes[j]! += 1;
  };
  if (rows) for (let q = 0; q < rows.length; q++) count(assignments[rows[q]!]!);
  else for (let i = 0; i < assignments.length; i++) count(assignments[i]!);
  return sizes;
}

/** `clusters/metrics.json`. */
export interface ClusterMetrics {
  readonly format: 'cbtm-cluster-metrics';
  readonly version: 1;
  /**
   * How documents were assigned: the balanced fit's own assignment, nearest centroid
   * (streaming), the random baseline, or assignments given by the caller.
   */
  readonly method: 'balanced-fit' | 'nearest-centroid' | 'random' | 'given';
  readonly k: number;
  readonly documents: number;
  readonly sizes: readonly number[];
  /** Σ squared distance to the assigned centroid; null when there are no centroids. */
  readonly inertia: number | null;
  /** max size / min size; null when a cluster is empty. */
  readonly balanceRatio: number | null;
  /** Present when documents carry a label field. */
  readonly labels: {
    readonly field: string;
    /** Documents that had a label (the rest are left out of the scores). */
    readonly labeled: number;
    readonly purity: number;
    readonly nmi: number;
    readonly classes: readonly string[];
    /** contingency[r][j]: documents of class r in cluster j. */
    readonly contingency: readonly (readonly number[])[];
  } | null;
}

/**
 * Assembles the metrics of a clustering: sizes, inertia, balance ratio and, with labels,
 * purity, NMI and the contingency table.
 *
 * @example
 * ```ts
 * const m = clusterMetrics({ method: 'random', sizes: [2, 2], inertia: null, labelField: 'domain',
 *   contingency: contingencyTable(['a', 'b', 'a', 'b'], [0, 0, 1, 1]) });
 * ```
 */
export function clusterMetrics(input: {
  readonly method: ClusterMetrics['method'];
  readonly sizes: ArrayLike<number>;
  readonly inertia: number | null;
  readonly labelField?: string;
  readonly contingency?: Contingency;
}): ClusterMetrics {
  const sizes = Array.from(input.sizes);
  const documents = sizes.reduce((s, c) => s + c, 0);
  const min = Math.min(...sizes);
  const max = Math.max(...sizes);
  const table = input.contingency;
  const labeled = table ? table.counts.reduce((s, r) => s + r.reduce((a, b) => a + b, 0), 0) : 0;
  return {
    format: 'cbtm-cluster-metrics',
    version: 1,
    method: input.method,
    k: sizes.length,
    documents,
    sizes,
    inertia: input.inertia,
    balanceRatio: min > 0 ? max / min : null,
    labels:
      table && labeled > 0
        ? {
            field: input.labelField ?? 'domain',
            labeled,
            purity: purity(table),
            nmi: normalizedMutualInfo(table),
            classes: table.labels,
            contingency: table.counts,
          }
        : null,
  };
}
