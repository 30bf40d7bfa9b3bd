// The pure entry of @cbtm/embed: tf-idf, SVD, the fitted tf-idf → SVD embedder and prefix
// embedding; no node: module, so a browser can load it. Saving, loading and the transformers.js
// embedder (a local model folder) are in `./node` (node.ts).
export { Analyzer, type AnalyzerOptions, defaultAnalyzerOptions } from './analyzer.js';
export { type DocInput, type DocSource, textOf } from './doc-source.js';
export type { Embedder, EmbedOptions, PrefixEmbedding } from './embedder.js';
export {
  EMBEDDER_FORMAT,
  EMBEDDER_FORMAT_VERSION,
  EMBEDDER_MANIFEST,
  type EmbedderManifest,
} from './embedder-format.js';
export { numpyArgsort } from './numpy-argsort.js';
export {
  type AsyncPrefixEmbedding,
  createPrefixEmbedding,
  type PrefixEmbeddingOptions,
} from './prefix-embedding.js';
export { type CsrMatrix, csrFromRows } from './sparse-matrix.js';
export { CBTM_STOP_WORDS, ENGLISH_STOP_WORDS, NUMBER_TOKEN } from './stop-words.js';
export {
  fromTermRows,
  TERM_ROWS_FORMAT,
  type TermRowsJson,
  toTermRows,
} from './term-rows.js';
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
  defaultTopTermsOptions,
  type TermSpace,
  type TopTermsOptions,
  termSpaceOf,
  topTerms,
} from './top-terms.js';
export {
  defaultTruncatedSvdOptions,
  TruncatedSvd,
  type TruncatedSvdOptions,
  type TruncatedSvdParts,
} from './truncated-svd.js';
export { compareCodePoints, isDigitCodePoint, isWordCodePoint } from './unicode.js';
export type { DfThreshold } from './vocabulary-builder.js';
