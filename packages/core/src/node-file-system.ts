// Registers the Node.js file system for pure `load`/`save` methods (see file-system.ts). The
// one side effect of @cbtm/core/node.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readJsonFile, writeFileAtomic, writeJsonAtomic } from './atomic-write.js';
import { type FileSystem, registerFileSystem } from './file-system.js';

/**
 * The Node.js {@link FileSystem}: `node:fs` with atomic writes. Importing `@cbtm/core/node`
 * registers it.
 *
 * @example
 * ```ts
 * registerFileSystem(nodeFileSystem); // again, after a test swapped it out
 * ```
 */
export const nodeFileSystem: FileSystem = Object.freeze({
  join,
  readBytes: async (path: string) => new Uint8Array(await readFile(path)),
  readJson: readJsonFile,
  writeAtomic: writeFileAtomic,
  writeJsonAtomic,
});

registerFileSystem(nodeFileSystem);
