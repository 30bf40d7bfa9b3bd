import { join } from 'node:path';
import { readJsonFile, writeJsonAtomic } from '@cbtm/core/node';
import { CENTROIDS_FILE, ClusterModel } from './cluster-model.js';

/**
 * Writes `<dir>/centroids.json` (the model's {@link ClusterModel.toJSON} form) atomically.
 *
 * @example
 * ```ts
 * await saveClusterModel(model, 'runs/a/clusters');
 * ```
 */
export async function saveClusterModel(model: ClusterModel, dir: string): Promise<void> {
  await writeJsonAtomic(join(dir, CENTROIDS_FILE), model.toJSON());
}

/**
 * Loads a model written by {@link saveClusterModel}; the error names the file when it is
 * missing or malformed.
 *
 * @example
 * ```ts
 * const model = await loadClusterModel('runs/a/clusters');
 * ```
 */
export async function loadClusterModel(dir: string): Promise<ClusterModel> {
  return ClusterModel.fromJSON(await readJsonFile(join(dir, CENTROIDS_FILE)));
}
