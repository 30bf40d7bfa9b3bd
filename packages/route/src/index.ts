// The pure entry of @cbtm/route: routing math and the exact router; no node: module, so a
// browser can load it. Loading, building HNSW routers and saving are in `./node` (node.ts).
export { selectNearest, squaredDistanceToRow } from './distance.js';
export { ExactRouter } from './exact-router.js';
export {
  defaultRouteOptions,
  type RouteOptions,
  type RouteResult,
  type Router,
  type RouterKind,
} from './router.js';
export {
  CENTROIDS_FILE,
  HNSW_INDEX_FILE,
  ROUTER_FORMAT_VERSION,
  ROUTER_MANIFEST_FILE,
  type RouterManifest,
  type SavedHnswParams,
} from './router-format.js';
export { routingWeights } from './routing-weights.js';
