import { CbtmError } from './errors.js';

/**
 * The few file operations that model and tokenizer files need, so that a pure package can
 * offer `load(path)` and `save(path)` without importing `node:fs` (the way TensorFlow.js lets
 * each platform register its IO). `@cbtm/core/node` registers the Node.js one when it is
 * imported; a browser app can register its own (for example, reading over `fetch`).
 *
 * @example
 * ```ts
 * const bytes = await fileSystem().readBytes(fileSystem().join('runs/a', 'model.json'));
 * ```
 */
export interface FileSystem {
  /** Joins path segments the platform's way. */
  join(...parts: string[]): string;
  /** Reads a whole file. */
  readBytes(path: string): Promise<Uint8Array>;
  /** Reads and parses a JSON file; the error names the file. */
  readJson<T = unknown>(path: string): Promise<T>;
  /** Writes a file atomically (temp file, then rename), creating its folder. */
  writeAtomic(path: string, data: string | Uint8Array): Promise<void>;
  /** Writes pretty-printed JSON atomically. */
  writeJsonAtomic(path: string, value: unknown): Promise<void>;
}

let registered: FileSystem | undefined;

/**
 * Makes `fs` the file system that `load` and `save` methods use; returns the previous one.
 *
 * @example
 * ```ts
 * registerFileSystem(myFetchFileSystem); // in a browser, read-only over HTTP
 * ```
 */
export function registerFileSystem(fs: FileSystem | undefined): FileSystem | undefined {
  const previous = registered;
  registered = fs;
  return previous;
}

/**
 * The registered {@link FileSystem}; throws `E_NO_FILE_SYSTEM` when none is.
 *
 * @example
 * ```ts
 * const json = await fileSystem().readJson('runs/a/tokenizer/tokenizer.json');
 * ```
 */
export function fileSystem(): FileSystem {
  if (!registered) {
    throw new CbtmError(
      'E_NO_FILE_SYSTEM',
      'No file system is registered. In Node.js, import the package\'s "./node" entry (e.g. @cbtm/train/node or @cbtm/core/node); in a browser, call registerFileSystem() first.',
    );
  }
  return registered;
}
