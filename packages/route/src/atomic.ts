import { randomBytes } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';

/**
 * Lets `produce` write a temp file next to `target` (hnswlib writes by path), then renames it
 * over `target`, so readers never see a half-written index. @internal
 */
export async function writeAtomically(
  target: string,
  produce: (tempPath: string) => Promise<void>,
): Promise<void> {
  const tmp = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await produce(tmp);
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
