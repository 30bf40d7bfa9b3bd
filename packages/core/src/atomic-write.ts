import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createGzip, type Gzip } from 'node:zlib';
import { CbtmError } from './errors.js';

let counter = 0;

/** A unique temp path beside `file`, so the final rename never crosses file systems. */
function tempPathFor(file: string): string {
  counter += 1;
  return join(
    dirname(file),
    `.${basename(file)}.${process.pid}.${Date.now().toString(36)}.${counter}.tmp`,
  );
}

/**
 * Writes `data` to `file` atomically: to a temp file beside it, fsync, then rename. A crash at
 * any moment leaves either the old file or the new one, never half of one.
 *
 * @example
 * ```ts
 * await writeFileAtomic('runs/a/clusters/sizes.txt', '12\n13\n');
 * ```
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = tempPathFor(file);
  try {
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Writes `value` as pretty JSON, atomically (see {@link writeFileAtomic}).
 *
 * @example
 * ```ts
 * await writeJsonAtomic('runs/a/clusters/metrics.json', { nmi: 0.87 });
 * ```
 */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Reads and parses a JSON file; the error names the file when it is missing or malformed.
 *
 * @example
 * ```ts
 * const metrics = await readJsonFile<{ nmi: number }>('runs/a/clusters/metrics.json');
 * ```
 */
export async function readJsonFile<T = unknown>(file: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CbtmError('E_FORMAT', `Cannot read ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new CbtmError('E_FORMAT', `${file} is not valid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * A streaming writer of one record per line (JSONL), optionally gzip-compressed. Records go to a
 * temp file; `close()` renames it into place, `abort()` deletes it. Backpressure is honoured.
 *
 * @example
 * ```ts
 * const w = createJsonlWriter('runs/a/shards/0.jsonl.gz', { gzip: true });
 * await w.write({ id: 'a', text: 'hello' });
 * await w.close();
 * ```
 */
export interface JsonlWriter {
  /** Number of records written so far. */
  readonly count: number;
  /** Appends one record (serialized with `JSON.stringify`). */
  write(record: unknown): Promise<void>;
  /** Flushes, fsyncs and renames the temp file into place. */
  close(): Promise<void>;
  /** Discards everything written; the destination is untouched. */
  abort(): Promise<void>;
}

/**
 * Writes a file in pieces, atomically: to a temp file beside it; `close()` fsyncs and renames
 * it into place, `abort()` deletes it. Backpressure is honoured.
 *
 * @example
 * ```ts
 * const w: FileWriter = createFileWriter('runs/a/embeddings/vectors.f32');
 * await w.write(new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength));
 * await w.close();
 * ```
 */
export interface FileWriter {
  /** Appends bytes (or UTF-8 text). */
  write(chunk: string | Uint8Array): Promise<void>;
  /** Flushes, fsyncs and renames the temp file into place. */
  close(): Promise<void>;
  /** Discards everything written; the destination is untouched. */
  abort(): Promise<void>;
}

/**
 * Creates a {@link FileWriter}. With `gzip` (default: when the path ends in `.gz`) the output is
 * gzip-compressed.
 *
 * @example
 * ```ts
 * const w = createFileWriter('out/vectors.f32');
 * await w.write(new Uint8Array(Float32Array.of(1, 2).buffer));
 * await w.close();
 * ```
 */
export function createFileWriter(
  file: string,
  options: { readonly gzip?: boolean } = {},
): FileWriter {
  const gzip = options.gzip ?? file.endsWith('.gz');
  const tmp = tempPathFor(file);
  let ready: Promise<void> | undefined;
  let out: WriteStream | undefined;
  let zip: Gzip | undefined;
  let failed: Error | undefined;
  const sink = () => (zip ?? out)!;
  const init = () => {
    ready ??= mkdir(dirname(file), { recursive: true }).then(() => {
      out = createWriteStream(tmp);
      out.on('error', (e) => {
        failed = e;
      });
      if (gzip) {
        zip = createGzip();
        zip.on('error', (e) => {
          failed = e;
        });
        zip.pipe(out);
      }
    });
    return ready;
  };
  const finished = (stream: WriteStream) =>
    new Promise<void>((resolve, reject) => {
      if (stream.closed) resolve();
      stream.once('close', resolve);
      stream.once('error', reject);
    });
  return {
    async write(chunk) {
      await init();
      if (failed) throw failed;
      if (!sink().write(chunk)) {
        await new Promise<void>((resolve) => sink().once('drain', resolve));
      }
    },
    async close() {
      await init();
      const done = finished(out!);
      sink().end();
      await done;
      if (failed) {
        await rm(tmp, { force: true });
        throw failed;
      }
      const handle = await open(tmp, 'r+');
      await handle.sync();
      await handle.close();
      await rename(tmp, file);
    },
    async abort() {
      if (ready) {
        await ready;
        const done = finished(out!);
        sink().end();
        await done.catch(() => undefined);
      }
      await rm(tmp, { force: true });
    },
  };
}

/**
 * Creates a {@link JsonlWriter}. With `gzip` (default: when the path ends in `.gz`) the output is
 * gzip-compressed.
 *
 * @example
 * ```ts
 * const w = createJsonlWriter('out/assignments.jsonl');
 * await w.write({ id: 'doc-1', cluster: 3 });
 * await w.close();
 * ```
 */
export function createJsonlWriter(
  file: string,
  options: { readonly gzip?: boolean } = {},
): JsonlWriter {
  const writer = createFileWriter(file, options);
  let count = 0;
  return {
    get count() {
      return count;
    },
    async write(record) {
      await writer.write(`${JSON.stringify(record)}\n`);
      count += 1;
    },
    close: () => writer.close(),
    abort: () => writer.abort(),
  };
}
