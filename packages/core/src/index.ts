export {
  createFileWriter,
  createJsonlWriter,
  type FileWriter,
  type JsonlWriter,
  readJsonFile,
  writeFileAtomic,
  writeJsonAtomic,
} from './atomic-write.js';
export { hashConfig, sha256File, sha256Path, stableStringify } from './checksum.js';
export {
  CorpusReader,
  type CorpusStats,
  defaultReadCorpusOptions,
  listCorpusFiles,
  MAX_SKIPPED_LISTED,
  type ReadCorpusOptions,
  readCorpus,
} from './corpus-reader.js';
export { type DemoCorpusPaths, demoCorpusPath, demoCorpusPaths } from './demo-corpus.js';
export type { Document } from './document.js';
export {
  AbortError,
  assertUnreachable,
  CbtmError,
  type CbtmErrorCode,
  type CbtmErrorOptions,
  CorpusError,
  type CorpusIssueReason,
  InvalidArgumentError,
  RunDirError,
  throwIfAborted,
} from './errors.js';
export {
  type LongRunOptions,
  type ProgressCallback,
  type ProgressEvent,
  type ProgressReporter,
  progressReporter,
} from './progress.js';
export { deriveSeed, Rng } from './rng.js';
export { RUN_FORMAT_VERSION, RunDir, type RunManifest, type StageRecord } from './run-dir.js';
