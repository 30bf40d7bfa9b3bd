// The Node.js entry of @cbtm/embed: everything in the pure entry, plus embedders that save to
// and load from a directory (`TfidfSvdEmbedder` with `save`/`load`, `TransformersEmbedder`) and
// `loadEmbedder`.
export { readEmbedderManifest } from './embedder-files.js';
export * from './index.js';
export { loadEmbedder } from './load-embedder.js';
export { type SavableEmbedder, TfidfSvdEmbedder } from './tfidf-svd-embedder-files.js';
export {
  defaultTransformersEmbedderOptions,
  type TransformersDtype,
  TransformersEmbedder,
  type TransformersEmbedderOptions,
} from './transformers-embedder.js';
