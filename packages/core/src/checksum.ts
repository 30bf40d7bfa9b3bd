import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { stableStringify } from './stable-stringify.js';

/**
 * SHA-256 of a file, streamed.
 *
 * @example
 * ```ts
 * const hex = await sha256File('runs/a/clusters/centroids.bin');
 * ```
 */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * SHA-256 of a file, or of a directory tree (over sorted relative paths and file contents).
 * Temp files (`.*.tmp`) are ignored.
 *
 * @example
 * ```ts
 * const hex = await sha256Path('runs/a/experts/0');
 * ```
 */
export async function sha256Path(path: string): Promise<string> {
  const info = await stat(path);
  if (!info.isDirectory()) return sha256File(path);
  const files: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    for (const entry of entries) {
      if (entry.name.endsWith('.tmp')) continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) files.push(full);
    }
  };
  await walk(path);
  files.sort();
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(relative(path, file));
    hash.update('\0');
    hash.update(await sha256File(file));
    hash.update('\n');
  }
  return hash.digest('hex');
}

/**
 * SHA-256 of {@link stableStringify}(value): equal configs give equal hashes.
 *
 * @example
 * ```ts
 * hashConfig({ k: 8, seed: 1 }) === hashConfig({ seed: 1, k: 8 });
 * ```
 */
export function hashConfig(value: unknown): string {
  return createHash('sha256')
    .update(stableStringify(value) ?? 'undefined')
    .digest('hex');
}
