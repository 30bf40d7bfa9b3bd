// The Node.js entry of @cbtm/core: everything in the pure entry, plus what touches the file
// system: atomic writers, checksums, corpus readers, the demo corpus, the run directory and
// its layout. Importing it registers the Node.js file system (node-file-system.ts).
export {
  createFileWriter,
  createJsonlWriter,
  type FileWriter,
  type JsonlWriter,
  readJsonFile,
  writeFileAtomic,
  writeJsonAtomic,
} from './atomic-write.js';
export { hashConfig, sha256File, sha256Path } from './checksum.js';
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
export * from './index.js';
export { nodeFileSystem } from './node-file-system.js';
export { pathExists } from './path-exists.js';
export { RUN_FORMAT_VERSION, RunDir, type RunManifest, type StageRecord } from './run-dir.js';
export { listExpertIds, listShardIds, RunLayout } from './run-layout.js';
