// The Node.js entry of @cbtm/route: everything in the pure entry, plus what reads and writes
// router directories and the native HNSW router (hnswlib-node). Its `ExactRouter` is the pure
// one with `save(dir)`.
export { defaultHnswRouterOptions, HnswRouter, type HnswRouterOptions } from './hnsw-router.js';
export * from './index.js';
export {
  type BuildRouterOptions,
  buildRouterFromCentroids,
  defaultBuildRouterOptions,
  loadRouter,
} from './load-router.js';
export { ExactRouter, type SavableRouter } from './savable-router.js';
