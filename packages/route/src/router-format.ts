// The router directory's file names and manifest: the format @cbtm/route writes and reads.
import type { RouterKind } from './router.js';

/**
 * File name of the router manifest inside a router directory.
 *
 * @example
 * ```ts
 * const hasRouter = existsSync(join(run, 'router', ROUTER_MANIFEST_FILE));
 * ```
 */
export const ROUTER_MANIFEST_FILE = 'router.json';
/**
 * File name of the raw little-endian float32 `[k, d]` centroid matrix.
 *
 * @example
 * ```ts
 * const bytes = await readFile(join(run, 'router', CENTROIDS_FILE));
 * ```
 */
export const CENTROIDS_FILE = 'centroids.f32';
/**
 * File name of the hnswlib index (HNSW routers only).
 *
 * @example
 * ```ts
 * join(run, 'router', HNSW_INDEX_FILE); // runs/demo/router/index.hnsw
 * ```
 */
export const HNSW_INDEX_FILE = 'index.hnsw';
/**
 * Current router format version, stored in `router.json`.
 *
 * @example
 * ```ts
 * if (manifest.version !== ROUTER_FORMAT_VERSION) throw new Error('rebuild the router');
 * ```
 */
export const ROUTER_FORMAT_VERSION = 1;

/**
 * HNSW build and search parameters as saved in `router.json`.
 *
 * @example
 * ```ts
 * const p: SavedHnswParams = { m: 32, efConstruction: 200, efSearch: 512, seed: 100 };
 * ```
 */
export interface SavedHnswParams {
  readonly m: number;
  readonly efConstruction: number;
  readonly efSearch: number;
  readonly seed: number;
}

/**
 * The `router.json` manifest. It is written last, so its presence means the directory is
 * complete.
 *
 * @example
 * ```json
 * {"format":"cbtm-router","version":1,"kind":"hnsw","k":8,"dimension":100,
 *  "centroids":{"file":"centroids.f32","dtype":"float32-le","sha256":"…"},
 *  "hnsw":{"m":32,"efConstruction":200,"efSearch":512,"seed":100,"file":"index.hnsw"}}
 * ```
 */
export interface RouterManifest {
  readonly format: 'cbtm-router';
  readonly version: number;
  readonly kind: RouterKind;
  readonly k: number;
  readonly dimension: number;
  readonly centroids: {
    readonly file: string;
    readonly dtype: 'float32-le';
    readonly sha256: string;
  };
  readonly hnsw?: SavedHnswParams & { readonly file: string };
}
