import { assertUnreachable } from '@cbtm/core';
import type { HnswRouterOptions } from './hnsw-router.js';
import { HnswRouter } from './hnsw-router.js';
import type { RouterKind } from './router.js';
import { ExactRouter, type SavableRouter } from './savable-router.js';
import { readRouterFiles } from './serialize.js';

/**
 * Opens a router saved by `router.save(dir)`, whatever its kind.
 *
 * @example
 * ```ts
 * const router = await loadRouter('runs/demo/router');
 * router.route(vec, { topK: 2 });
 * ```
 */
export async function loadRouter(dir: string): Promise<SavableRouter> {
  const { manifest, centroids } = await readRouterFiles(dir);
  switch (manifest.kind) {
    case 'exact':
      return new ExactRouter(centroids, manifest.k, manifest.dimension);
    case 'hnsw':
      return HnswRouter.fromSaved(dir, manifest, centroids);
    default:
      return assertUnreachable(manifest.kind, 'router kind');
  }
}

/**
 * Options of {@link buildRouterFromCentroids}.
 *
 * @example
 * ```ts
 * const opts: BuildRouterOptions = { kind: 'hnsw', hnsw: { efSearch: 1024 } };
 * ```
 */
export interface BuildRouterOptions {
  /**
   * Which router to build.
   * @default 'hnsw'
   */
  readonly kind?: RouterKind;
  /** HNSW parameters, used when `kind` is `'hnsw'`. */
  readonly hnsw?: HnswRouterOptions;
}

/**
 * Defaults of {@link BuildRouterOptions}.
 *
 * @example
 * ```ts
 * buildRouterFromCentroids(c, k, d, { ...defaultBuildRouterOptions });
 * ```
 */
export const defaultBuildRouterOptions: Readonly<{ kind: RouterKind }> = Object.freeze({
  kind: 'hnsw',
});

/**
 * Builds a router over row-major `[k, d]` centroids, e.g. a fitted `ClusterModel`'s.
 *
 * @example
 * ```ts
 * const router = await buildRouterFromCentroids(model.centroids, model.k, model.dimension, { kind: 'hnsw' });
 * await router.save(run.path('router'));
 * ```
 */
export async function buildRouterFromCentroids(
  centroids: Float32Array,
  k: number,
  d: number,
  options: BuildRouterOptions = {},
): Promise<SavableRouter> {
  const kind = options.kind ?? defaultBuildRouterOptions.kind;
  switch (kind) {
    case 'exact':
      return new ExactRouter(centroids, k, d);
    case 'hnsw':
      return HnswRouter.build(centroids, k, d, options.hnsw);
    default:
      return assertUnreachable(kind, 'router kind');
  }
}
