import { InvalidArgumentError } from '@cbtm/core';

/**
 * Options for one routing query.
 *
 * @example
 * ```ts
 * router.route(vec, { topK: 2, temperature: 0.1 });
 * ```
 */
export interface RouteOptions {
  /**
   * How many nearest centroids get a weight; the rest get none. Values above `k` mean all.
   * @default Infinity (all k experts)
   */
  readonly topK?: number;
  /**
   * Softmax temperature T in w_j ∝ exp(−d_j² / T).
   * @default 0.1
   */
  readonly temperature?: number;
}

/**
 * Defaults of {@link RouteOptions}: the paper's T = 0.1 over all experts.
 *
 * @example
 * ```ts
 * const opts = { ...defaultRouteOptions, topK: 4 };
 * ```
 */
export const defaultRouteOptions: Required<RouteOptions> = Object.freeze({
  topK: Number.POSITIVE_INFINITY,
  temperature: 0.1,
});

/**
 * The answer to one routing query: the chosen experts, nearest first.
 *
 * @example
 * ```ts
 * const { experts, weights, distances } = router.route(vec, { topK: 2 });
 * // experts[0] is the nearest centroid; weights sum to 1; distances are squared L2.
 * ```
 */
export interface RouteResult {
  /** Expert (centroid) indices, nearest first; ties broken by the lower index. */
  readonly experts: number[];
  /** Mixture weights aligned with `experts`; they sum to 1. */
  readonly weights: Float32Array;
  /** Squared Euclidean distances aligned with `experts`. */
  readonly distances: Float32Array;
}

/** Which router implementation a saved router directory holds. */
export type RouterKind = 'exact' | 'hnsw';

/**
 * Nearest-centroid routing: maps a context embedding to a sparse set of experts and their
 * mixture weights. {@link ExactRouter} and {@link HnswRouter} implement it.
 *
 * @example
 * ```ts
 * const router = await loadRouter('runs/demo/router');
 * const { experts, weights } = router.route(await embedder.embedText('in the beginning'), { topK: 2 });
 * ```
 */
export interface Router {
  /** `'exact'` or `'hnsw'`. */
  readonly kind: RouterKind;
  /** Number of centroids (experts). */
  readonly k: number;
  /** Embedding dimension. */
  readonly dimension: number;
  /** Routes one embedding; see {@link RouteOptions}. */
  route(vec: ArrayLike<number>, options?: RouteOptions): RouteResult;
  /** A copy of the centroids, row-major `[k, dimension]`. */
  centroids(): Float32Array;
}

/** Validates options and resolves `topK` to an integer in [1, k]. @internal */
export function resolveRouteOptions(
  options: RouteOptions | undefined,
  k: number,
): { topK: number; temperature: number } {
  const topK = options?.topK ?? defaultRouteOptions.topK;
  const temperature = options?.temperature ?? defaultRouteOptions.temperature;
  if (!(topK >= 1) || (Number.isFinite(topK) && !Number.isInteger(topK))) {
    throw new InvalidArgumentError(
      `topK must be an integer ≥ 1 (or Infinity for all experts), got ${topK}.`,
    );
  }
  if (!(temperature > 0) || !Number.isFinite(temperature)) {
    throw new InvalidArgumentError(
      `temperature must be a finite number > 0, got ${temperature}. The paper uses 0.1.`,
    );
  }
  return { topK: Math.min(topK, k), temperature };
}

/** Validates a query vector against the router's dimension. @internal */
export function checkQuery(vec: ArrayLike<number>, dimension: number): void {
  if (vec.length !== dimension) {
    throw new InvalidArgumentError(
      `The query vector has ${vec.length} dimensions but the router expects ${dimension}. ` +
        'Route with the same embedder the clusters were fitted on.',
    );
  }
  for (let i = 0; i < dimension; i++) {
    if (!Number.isFinite(vec[i]!)) {
      throw new InvalidArgumentError(`The query vector has a non-finite value at index ${i}.`);
    }
  }
}

/** Validates a centroid matrix. @internal */
export function checkCentroids(centroids: Float32Array, k: number, d: number): void {
  if (!Number.isInteger(k) || k < 1) {
    throw new InvalidArgumentError(`k must be a positive integer, got ${k}.`);
  }
  if (!Number.isInteger(d) || d < 1) {
    throw new InvalidArgumentError(`dimension must be a positive integer, got ${d}.`);
  }
  if (centroids.length !== k * d) {
    throw new InvalidArgumentError(
      `centroids has ${centroids.length} values but k × dimension = ${k} × ${d} = ${k * d}.`,
    );
  }
  for (let i = 0; i < centroids.length; i++) {
    if (!Number.isFinite(centroids[i]!)) {
      throw new InvalidArgumentError(
        `centroid ${Math.floor(i / d)} has a non-finite value at dimension ${i % d}.`,
      );
    }
  }
}
