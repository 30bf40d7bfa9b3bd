// The file-system side of @cbtm/core: run-directory paths and file helpers. The main entry
// still exports RunDir and the corpus readers; they move here with the browser split.
export { pathExists } from './path-exists.js';
export { listExpertIds, listShardIds, RunLayout } from './run-layout.js';
