import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (tests only). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
/** The shared data folder that sits beside the repository in CI and on developer machines. */
export const sharedData = resolve(repoRoot, '..', 'shared', 'data');
export const hasSharedData = existsSync(resolve(sharedData, 'corpus-v1', 'train.jsonl.gz'));
