/** What the pipeline reads from `<run>/clusters/metrics.json`. */
export interface ClusterMetricsFile {
  readonly k: number;
  /** Documents assigned. */
  readonly documents: number;
  /**
   * How documents were assigned: the balanced fit's own assignment (the fit covered every
   * document) or nearest centroid. Older runs omit it, and the fields below.
   */
  readonly method?: 'balanced-fit' | 'nearest-centroid' | 'random' | 'given';
  /** Largest / smallest cluster; null when a cluster is empty. */
  readonly balanceRatio?: number | null;
  /** `@cbtm/cluster`'s label metrics, with the label × cluster contingency table. */
  readonly labels?: {
    readonly field: string;
    readonly classes: readonly string[];
    readonly contingency: readonly (readonly number[])[];
  } | null;
  /** Documents per cluster. */
  readonly sizes: readonly number[];
  readonly inertia?: number | null;
  /** Against the corpus's domain labels; null or absent without labels. */
  readonly purity?: number | null;
  readonly nmi?: number | null;
  /**
   * Each cluster's top terms (centroid mapped back through the SVD to the tf-idf vocabulary);
   * absent for an embedder without terms (transformers) and in older runs.
   */
  readonly topTerms?: readonly (readonly string[])[];
}
