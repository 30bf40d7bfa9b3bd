export { Analyzer, type AnalyzerOptions, defaultAnalyzerOptions } from './analyzer.js';
export { type DocInput, type DocSource, textOf } from './doc-source.js';
export type { Embedder, EmbedOptions, PrefixEmbedding } from './embedder.js';
export {
  EMBEDDER_FORMAT,
  EMBEDDER_FORMAT_VERSION,
  type EmbedderManifest,
  readEmbedderManifest,
} from './embedder-files.js';
export { loadEmbedder } from './load-embedder.js';
export { numpyArgsort } from './numpy-argsort.js';
export {
  type AsyncPrefixEmbedding,
  createPrefixEmbedding,
  type PrefixEmbeddingOptions,
} from './prefix-embedding.js';
export { type CsrMatrix, csrFromRows } from './sparse-matrix.js';
export { CBTM_STOP_WORDS, ENGLISH_STOP_WORDS, NUMBER_TOKEN } from './stop-words.js';
export {
  defaultTfidfSvdEmbedderOptions,
  TfidfSvdEmbedder,
  type TfidfSvdEmbedderOptions,
  type TfidfSvdFitOptions,
} from './tfidf-svd-embedder.js';
export {
  cbtmTfidfOptions,
  defaultTfidfVectorizerOptions,
  type SparseVector,
  type TermCounts,
  type TfidfNorm,
  TfidfVectorizer,
  type TfidfVectorizerJson,
  type TfidfVectorizerOptions,
} from './tfidf-vectorizer.js';
export { type CompiledTokenPattern, compileTokenPattern } from './token-pattern.js';
export {
  defaultTransformersEmbedderOptions,
  type TransformersDtype,
  TransformersEmbedder,
  type TransformersEmbedderOptions,
} from './transformers-embedder.js';
export {
  defaultTruncatedSvdOptions,
  TruncatedSvd,
  type TruncatedSvdOptions,
  type TruncatedSvdParts,
} from './truncated-svd.js';
export { compareCodePoints, isDigitCodePoint, isWordCodePoint } from './unicode.js';
export type { DfThreshold } from './vocabulary-builder.js';
