// The pure entry of @cbtm/core: it imports no node: module, so a browser can load it. File
// helpers, corpus readers and the run directory are in the `./node` entry (node.ts).
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
export { type FileSystem, fileSystem, registerFileSystem } from './file-system.js';
export { decodeFloat32LE, encodeFloat32LE } from './float32-bytes.js';
export {
  type LongRunOptions,
  type ProgressCallback,
  type ProgressEvent,
  type ProgressReporter,
  progressReporter,
} from './progress.js';
export { deriveSeed, Rng } from './rng.js';
export { slidingWindowStart } from './sliding-window.js';
export { stableStringify } from './stable-stringify.js';
