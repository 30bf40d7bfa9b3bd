/** What the pipeline reads from `<run>/clusters/metrics.json`. */
export interface ClusterMetricsFile {
  readonly k: number;
  /** Documents assigned. */
  readonly documents: number;
  /**
   * How documents were assigned: the balanced fit's own assignment (the fit covered every
   * document) or nearest centroid (older runs omit it).
   */
  readonly assignment?: 'balanced-fit' | 'nearest-centroid';
  /** Documents per cluster. */
  readonly sizes: number[];
  readonly inertia?: number;
  /** Against the corpus's domain labels; null or absent without labels. */
  readonly purity?: number | null;
  readonly nmi?: number | null;
}
