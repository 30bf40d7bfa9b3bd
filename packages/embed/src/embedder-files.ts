import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CbtmError, readJsonFile, writeFileAtomic } from '@cbtm/core/node';

import {
  EMBEDDER_FORMAT,
  EMBEDDER_FORMAT_VERSION,
  EMBEDDER_MANIFEST,
  type EmbedderManifest,
} from './embedder-format.js';

/**
 * Reads and checks `<dir>/embedder.json`.
 *
 * @example
 * ```ts
 * const { kind } = await readEmbedderManifest(dir);
 * ```
 */
export async function readEmbedderManifest(dir: string): Promise<EmbedderManifest> {
  const file = join(dir, EMBEDDER_MANIFEST);
  const m = await readJsonFile<Partial<EmbedderManifest>>(file);
  if (m === null || typeof m !== 'object' || m.format !== EMBEDDER_FORMAT) {
    throw new CbtmError(
      'E_FORMAT',
      `${file} is not a cbtm embedder (format "${EMBEDDER_FORMAT}"). Point at the folder an embedder was saved to.`,
    );
  }
  if (typeof m.version !== 'number' || m.version > EMBEDDER_FORMAT_VERSION) {
    throw new CbtmError(
      'E_FORMAT',
      `${file} has version ${String(m.version)}, newer than this @cbtm/embed reads (${EMBEDDER_FORMAT_VERSION}). Upgrade @cbtm/embed.`,
    );
  }
  if (typeof m.kind !== 'string' || typeof m.dimension !== 'number') {
    throw new CbtmError(
      'E_FORMAT',
      `${file} lacks "kind" or "dimension"; the file is corrupt. Save the embedder again.`,
    );
  }
  return m as EmbedderManifest;
}

/** Writes a typed array as raw little-endian bytes, atomically. */
export async function writeTypedArray(
  file: string,
  data: Float32Array | Float64Array,
): Promise<void> {
  await writeFileAtomic(file, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

/** Reads `count` little-endian float32 values. */
export async function readFloat32File(file: string, count: number): Promise<Float32Array> {
  const bytes = await readBytes(file, count * 4);
  return new Float32Array(bytes.buffer, bytes.byteOffset, count).slice();
}

/** Reads `count` little-endian float64 values. */
export async function readFloat64File(file: string, count: number): Promise<Float64Array> {
  const bytes = await readBytes(file, count * 8);
  return new Float64Array(bytes.slice().buffer, 0, count);
}

async function readBytes(file: string, expected: number): Promise<Uint8Array> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new CbtmError(
      'E_FORMAT',
      `Cannot read ${file}: ${(err as Error).message}. Save the embedder again.`,
      { cause: err },
    );
  }
  if (bytes.byteLength !== expected) {
    throw new CbtmError(
      'E_FORMAT',
      `${file} has ${bytes.byteLength} bytes, expected ${expected}; the file is truncated or corrupt. Save the embedder again.`,
    );
  }
  // Copy to an aligned buffer (a Buffer may sit at any offset of a shared pool).
  const out = new Uint8Array(expected);
  out.set(bytes);
  return out;
}
