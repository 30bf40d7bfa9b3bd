import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeJsonAtomic } from '@cbtm/core/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  readTrainProgress,
  readTrainState,
  readTrainStateIfPresent,
  TRAIN_STATE_FILE,
} from './train-state.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cbtm-train-state-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('train-state.json readers', () => {
  it('report step 0, not done, and no state for a model that never checkpointed', async () => {
    const dir = join(root, 'fresh');
    expect(await readTrainProgress(dir)).toEqual({ step: 0, totalSteps: null, done: false });
    expect(await readTrainStateIfPresent(dir)).toBeNull();
    await expect(readTrainState(dir)).rejects.toThrow(TRAIN_STATE_FILE);
  });

  it('read how far a model got', async () => {
    const dir = join(root, 'partial');
    await writeJsonAtomic(join(dir, TRAIN_STATE_FILE), {
      step: 7,
      totalSteps: 10,
      done: false,
      backend: 'wasm',
    });
    expect(await readTrainProgress(dir)).toEqual({ step: 7, totalSteps: 10, done: false });
    expect((await readTrainStateIfPresent(dir))?.backend).toBe('wasm');
    await writeJsonAtomic(join(dir, TRAIN_STATE_FILE), { step: 10, totalSteps: 10, done: true });
    expect(await readTrainProgress(dir)).toEqual({ step: 10, totalSteps: 10, done: true });
  });

  it('treat a file being replaced as no progress, but the full readers still fail on it', async () => {
    const dir = join(root, 'torn');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, TRAIN_STATE_FILE), '{"step": 3, "do');
    expect(await readTrainProgress(dir)).toEqual({ step: 0, totalSteps: null, done: false });
    await expect(readTrainStateIfPresent(dir)).rejects.toThrow('not valid JSON');
    await expect(readTrainState(dir)).rejects.toThrow('not valid JSON');
  });
});
