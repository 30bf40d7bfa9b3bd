export {
  type AssignCorpusOptions,
  type AssignCorpusOutputs,
  type AssignCorpusResult,
  assignCorpus,
  type CorpusEmbedder,
  clusterOutputs,
  defaultAssignCorpusOptions,
} from './assign-corpus.js';
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
export {
  type ClusterCorpusOptions,
  type ClusterCorpusResult,
  clusterCorpus,
  defaultClusterCorpusOptions,
} from './cluster-corpus.js';
export { clusterMeans } from './cluster-means.js';
export { ClusterModel, type ClusterModelJSON } from './cluster-model.js';
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
export { CENTROIDS_FILE } from './serialize.js';
export { DistanceEngine, wasmSimdSupported } from './squared-distances.js';
