// The Node.js entry of @cbtm/cluster: everything in the pure entry, plus streaming a corpus
// into clusters and shards, and saving or loading a fitted model.
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
  type ClusterCorpusOptions,
  type ClusterCorpusResult,
  clusterCorpus,
  defaultClusterCorpusOptions,
} from './cluster-corpus.js';
export * from './index.js';
export { loadClusterModel, saveClusterModel } from './serialize.js';
