import { ExactRouter as PureExactRouter } from './exact-router.js';
import type { Router } from './router.js';
import { writeRouterFiles } from './serialize.js';

/**
 * A {@link Router} that can write itself into a directory; what `@cbtm/route/node` builds and
 * loads. The pure entry's routers route only.
 *
 * @example
 * ```ts
 * const router: SavableRouter = await buildRouterFromCentroids(centroids, k, d);
 * await router.save('runs/demo/router');
 * ```
 */
export interface SavableRouter extends Router {
  /** Writes the router into `dir` (created if needed); {@link loadRouter} reads it back. */
  save(dir: string): Promise<void>;
}

/**
 * The exact router of the pure entry, plus {@link SavableRouter.save}: `router.json` and
 * `centroids.f32`, each written atomically.
 *
 * @example
 * ```ts
 * const router = new ExactRouter(centroids, k, d);
 * await router.save('runs/demo/router');
 * ```
 */
export class ExactRouter extends PureExactRouter implements SavableRouter {
  /**
   * Saves `router.json` and `centroids.f32` into `dir`, each written atomically.
   *
   * @example
   * ```ts
   * await router.save('runs/demo/router');
   * ```
   */
  async save(dir: string): Promise<void> {
    await writeRouterFiles(
      dir,
      { kind: 'exact', k: this.k, dimension: this.dimension },
      this.centroids(),
    );
  }
}
