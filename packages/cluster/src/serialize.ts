import { join } from 'node:path';
import { readJsonFile, writeJsonAtomic } from '@cbtm/core/node';

/** File name of a saved cluster model inside its directory (`<run>/clusters`). */
export const CENTROIDS_FILE = 'centroids.json';

/** Writes a model's JSON form to `<dir>/centroids.json`, atomically. */
export async function writeModelFile(dir: string, json: unknown): Promise<void> {
  await writeJsonAtomic(join(dir, CENTROIDS_FILE), json);
}

/** Reads `<dir>/centroids.json`; the error names the file when it is missing or malformed. */
export async function readModelFile(dir: string): Promise<unknown> {
  return readJsonFile(join(dir, CENTROIDS_FILE));
}
