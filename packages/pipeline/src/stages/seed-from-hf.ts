import { join } from 'node:path';
import { CbtmError, pathExists, sha256File } from '@cbtm/core/node';
import type { CbtmConfig } from '../config/schema.js';

/**
 * The Hugging Face checkpoint folder that `train.seedFrom` names, or null when it names a cbtm
 * model folder (or nothing). Such a run takes its tokenizer and seed weights from the checkpoint.
 */
export async function hfSeedCheckpoint(config: CbtmConfig): Promise<string | null> {
  const dir = config.train.seedFrom;
  if (dir === null) return null;
  const { isHfCheckpoint } = await import('@cbtm/train/node');
  return isHfCheckpoint(dir) ? dir : null;
}

/** SHA-256 of each of the checkpoint's `names` that exists, joined: its identity in a stage hash. */
export async function hfCheckpointChecksum(dir: string, names: readonly string[]): Promise<string> {
  const sums: string[] = [];
  for (const name of names) {
    const file = join(dir, name);
    sums.push((await pathExists(file)) ? `${name}=${await sha256File(file)}` : `${name}=absent`);
  }
  return sums.join(':');
}

/**
 * SHA-256 over the files a branch reads from a GPT-2 checkpoint in `train.seedFrom`, after
 * checking that the run's `model` settings have the checkpoint's shape (the error says which
 * settings to change).
 */
export async function hfSeedChecksum(dir: string, config: CbtmConfig): Promise<string> {
  const { gptConfigFromGpt2, HF_CHECKPOINT_FILES } = await import('@cbtm/train/node');
  const file = join(dir, 'config.json');
  const { readFile } = await import('node:fs/promises');
  const shape = gptConfigFromGpt2(JSON.parse(await readFile(file, 'utf8')), file);
  const keys = ['nLayer', 'dModel', 'nHead', 'contextLength', 'mlpRatio'] as const;
  const differ = keys.filter((k) => shape[k] !== config.model[k]);
  if (differ.length > 0) {
    const want = Object.fromEntries(keys.map((k) => [k, shape[k]]));
    throw new CbtmError(
      'E_CONFIG_INVALID',
      `train.seedFrom is the checkpoint ${dir}, whose shape differs from the config's model (${differ
        .map((k) => `${k} ${config.model[k]} here, ${shape[k]} there`)
        .join('; ')}). Set "model": ${JSON.stringify(want)} in the config.`,
    );
  }
  return hfCheckpointChecksum(dir, HF_CHECKPOINT_FILES);
}
