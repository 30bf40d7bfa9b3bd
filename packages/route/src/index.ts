export { selectNearest, squaredDistanceToRow } from './distance.js';
export { ExactRouter } from './exact-router.js';
export { defaultHnswRouterOptions, HnswRouter, type HnswRouterOptions } from './hnsw-router.js';
export {
  type BuildRouterOptions,
  buildRouterFromCentroids,
  defaultBuildRouterOptions,
  loadRouter,
} from './load-router.js';
export {
  defaultRouteOptions,
  type RouteOptions,
  type RouteResult,
  type Router,
  type RouterKind,
} from './router.js';
export { routingWeights } from './routing-weights.js';
export {
  CENTROIDS_FILE,
  HNSW_INDEX_FILE,
  ROUTER_FORMAT_VERSION,
  ROUTER_MANIFEST_FILE,
  type RouterManifest,
  type SavedHnswParams,
} from './serialize.js';
