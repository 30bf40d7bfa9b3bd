import { access } from 'node:fs/promises';

/**
 * True when `path` exists (a file, a folder or anything else); false when it does not or cannot
 * be reached. Never throws.
 *
 * @example
 * ```ts
 * if (!(await pathExists('runs/a/manifest.json'))) console.log('not a run yet');
 * ```
 */
export function pathExists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
