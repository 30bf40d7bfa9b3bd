import { InvalidArgumentError } from '@cbtm/core';
import type { RouteOptions, RouteResult, Router } from '@cbtm/route';

/**
 * The part of a `Router` the ensemble uses. {@link UniformRouting} implements it for expert
 * sets that have no centroids (random-cluster baselines without a router).
 *
 * @example
 * ```ts
 * const routing: Routing = await loadRouter('runs/demo/router');
 * ```
 */
export type Routing = Pick<Router, 'k' | 'dimension' | 'route'>;

/**
 * Equal weight 1/k on every expert, whatever the context. Only `topK ≥ k` (all) makes sense:
 * with no distances there is no "nearest" expert to keep.
 *
 * @example
 * ```ts
 * new UniformRouting(4, 100).route(vec).weights; // [0.25, 0.25, 0.25, 0.25]
 * ```
 */
export class UniformRouting implements Routing {
  readonly k: number;
  readonly dimension: number;
  readonly #result: RouteResult;

  constructor(k: number, dimension: number) {
    this.k = k;
    this.dimension = dimension;
    this.#result = {
      experts: Array.from({ length: k }, (_, j) => j),
      weights: new Float32Array(k).fill(1 / k),
      distances: new Float32Array(k),
    };
  }

  route(_vec: ArrayLike<number>, options: RouteOptions = {}): RouteResult {
    if (options.topK !== undefined && options.topK < this.k) {
      throw new InvalidArgumentError(
        `This expert set has no router, so it can only mix all ${this.k} experts uniformly; got topK ${options.topK}. Save a router for it to route top-k.`,
      );
    }
    return this.#result;
  }
}

/**
 * A fixed route: one expert with weight 1 (the dense baseline, or a single chosen expert).
 *
 * @example
 * ```ts
 * fixedRoute(3); // { experts: [3], weights: [1], distances: [0] }
 * ```
 */
export function fixedRoute(expert: number): RouteResult {
  return { experts: [expert], weights: Float32Array.of(1), distances: Float32Array.of(0) };
}

/**
 * Routes a context embedding, or falls back to the prior when there is no context yet. An
 * empty prefix embeds as the zero vector, whose "distances" ‖c_j‖² only say how spread out each
 * cluster is, not which one the text belongs to; exp(−‖c_j‖²/T) would hand the first word to
 * whichever cluster is most diffuse. With no words seen, every cluster is equally likely (the
 * clusters are balanced), so the experts the router selects get equal weights: all k of them
 * for `topK` = all.
 *
 * @example
 * ```ts
 * routeOrPrior(router, new Float32Array(router.dimension)).weights; // [0.25, 0.25, 0.25, 0.25] for k = 4
 * ```
 */
export function routeOrPrior(
  routing: Routing,
  vec: ArrayLike<number>,
  options: RouteOptions = {},
): RouteResult {
  const route = routing.route(vec, options);
  for (let i = 0; i < vec.length; i++) if (vec[i] !== 0) return route;
  const n = route.experts.length;
  return { ...route, weights: new Float32Array(n).fill(1 / n) };
}
