import type { EvalResults } from '../results.js';

/**
 * One model's loss curve: x is training tokens seen.
 *
 * @example
 * ```ts
 * const c: LossCurve = { name: 'expert 0', group: 'expert', train: [[2048, 7.1]], valid: [] };
 * ```
 */
export interface LossCurve {
  /** `expert 0`, `dense`, `random 2`. */
  readonly name: string;
  /** `expert`, `dense`, `random` or `seed`, for colors and default visibility. */
  readonly group: 'expert' | 'dense' | 'random' | 'seed';
  /** [tokens, training loss] pairs. */
  readonly train: ReadonlyArray<readonly [number, number]>;
  /** [tokens, validation loss] pairs. */
  readonly valid: ReadonlyArray<readonly [number, number]>;
}

/**
 * Documents drawn on the 2-D embedding map.
 *
 * @example
 * ```ts
 * const m: EmbeddingMap = { method: 'PCA', domains: ['law'], total: 1, points: [[0.1, -0.2, 0, 0, 'doc-1']] };
 * ```
 */
export interface EmbeddingMap {
  /** How the 2-D coordinates were made, e.g. `first two principal components`. */
  readonly method: string;
  /** Domain names; points refer to them by index (-1: no label). */
  readonly domains: readonly string[];
  /** [x, y, cluster, domain index, doc id]. */
  readonly points: ReadonlyArray<readonly [number, number, number, number, string]>;
  /** Documents in the corpus (the map may show a sample). */
  readonly total: number;
}

/**
 * Everything `report.html` shows, gathered from a run directory by `collectReportData`. Any part
 * may be missing when its stage has not run; the page then says so instead of drawing a chart.
 *
 * @example
 * ```ts
 * const html = renderReportHtml(await collectReportData(run));
 * ```
 */
export interface ReportData {
  readonly title: string;
  readonly runDir: string;
  readonly generatedAt: string;
  /** The whole run config. */
  readonly config: unknown;
  /** Tensor backend used for training and eval. */
  readonly backend: string | null;
  /** Documents per cluster. */
  readonly clusterSizes: readonly number[] | null;
  /**
   * Each cluster's top terms (its centroid mapped back to the tf-idf vocabulary); absent with a
   * transformers embedder and in older runs.
   */
  readonly topTerms?: readonly (readonly string[])[] | null;
  /** Domain × cluster document counts. */
  readonly contingency: {
    readonly domains: readonly string[];
    readonly counts: readonly (readonly number[])[];
  } | null;
  readonly embeddingMap: EmbeddingMap | null;
  readonly lossCurves: readonly LossCurve[];
  readonly results: EvalResults | null;
  /** Stage name → `ran` / `reused` and when it finished. */
  readonly stages: ReadonlyArray<{
    readonly name: string;
    readonly completedAt: string;
    readonly info?: unknown;
  }>;
}
