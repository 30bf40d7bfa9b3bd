/** What the pipeline reads from `<run>/clusters/metrics.json`. */
export interface ClusterMetricsFile {
  readonly k: number;
  /** Documents assigned. */
  readonly documents: number;
  /** Documents per cluster. */
  readonly sizes: number[];
  readonly inertia?: number;
  /** Against the corpus's domain labels; null or absent without labels. */
  readonly purity?: number | null;
  readonly nmi?: number | null;
}
