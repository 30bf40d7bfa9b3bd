// The pure entry of @cbtm/cluster: balanced k-means, the fitted model and metrics, on typed
// arrays; no node: module, so a browser can load it. Streaming a corpus into shards and saving
// or loading a model are in `./node` (node.ts).
export {
  type BalancedAssignment,
  type BalancedAssignmentOptions,
  balancedAssignment,
  sizeBounds,
} from './balanced-assignment.js';
export {
  BalancedKMeans,
  type BalancedKMeansOptions,
  type BalancedKMeansResult,
  defaultBalancedKMeansOptions,
  fitBalancedKMeans,
  type KMeansInit,
} from './balanced-kmeans.js';
export { clusterMeans } from './cluster-means.js';
export { CENTROIDS_FILE, ClusterModel, type ClusterModelJSON } from './cluster-model.js';
export {
  type ClusterMetrics,
  type Contingency,
  clusterMetrics,
  clusterSizes,
  contingencyTable,
  normalizedMutualInfo,
  purity,
} from './metrics.js';
export { projectTo2d } from './projection.js';
export { RandomClusters, randomClusters } from './random-clusters.js';
export { DistanceEngine, wasmSimdSupported } from './squared-distances.js';
