import { selectNearest, squaredDistanceToRow } from './distance.js';
import type { RouteOptions, RouteResult, Router } from './router.js';
import { checkCentroids, checkQuery, resolveRouteOptions } from './router.js';
import { routeResult } from './routing-weights.js';

/**
 * Brute-force router: computes the distance to every centroid. O(k·d) per query; the
 * reference the HNSW router is tested against, and the faster choice for small k.
 *
 * @example
 * ```ts
 * const router = new ExactRouter(new Float32Array([0, 0, 1, 0]), 2, 2);
 * router.route(new Float32Array([0.9, 0]), { topK: 1 }).experts; // [1]
 * ```
 */
export class ExactRouter implements Router {
  readonly kind = 'exact' as const;
  readonly k: number;
  readonly dimension: number;
  readonly #centroids: Float32Array;
  readonly #scratch: Float64Array;

  /**
   * @param centroids - row-major `[k, d]` centroid matrix (copied).
   * @param k - number of centroids.
   * @param d - dimension.
   */
  constructor(centroids: Float32Array, k: number, d: number) {
    checkCentroids(centroids, k, d);
    this.k = k;
    this.dimension = d;
    this.#centroids = Float32Array.from(centroids);
    this.#scratch = new Float64Array(k);
  }

  /**
   * Routes `vec` to its `topK` nearest centroids with weights exp(−d²/T), renormalized.
   *
   * @example
   * ```ts
   * const { experts, weights } = router.route(vec); // all experts, T = 0.1
   * ```
   */
  route(vec: ArrayLike<number>, options?: RouteOptions): RouteResult {
    checkQuery(vec, this.dimension);
    const { topK, temperature } = resolveRouteOptions(options, this.k);
    const dist = this.#scratch;
    for (let j = 0; j < this.k; j++) {
      dist[j] = squaredDistanceToRow(vec, this.#centroids, j, this.dimension);
    }
    const nearest = selectNearest(dist, topK);
    return routeResult(nearest, temperature);
  }

  /** A copy of the centroids. */
  centroids(): Float32Array {
    return Float32Array.from(this.#centroids);
  }
}
