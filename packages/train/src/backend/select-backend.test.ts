import { CbtmError } from '@cbtm/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { currentBackend, selectBackend } from './select-backend.js';

describe('selectBackend', () => {
  it('walks the ladder once and says in one line what it chose and what was missing', async () => {
    const lines: string[] = [];
    const name = await selectBackend('auto', { log: (l) => lines.push(l) });
    // The native TensorFlow packages are optional and absent on these machines.
    expect(name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(currentBackend()).toBe('wasm');
    expect(lines).toEqual([
      'cbtm/train: tensor backend wasm (tensorflow-gpu: not installed; tensorflow: not installed)',
    ]);
    expect(await selectBackend('auto', { log: (l) => lines.push(l) })).toBe('wasm');
    expect(lines).toHaveLength(1);
  });

  it('switches to a named backend, and refuses one that is not there', async () => {
    expect(await selectBackend('cpu')).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    const err = await selectBackend('tensorflow').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CbtmError);
    expect((err as CbtmError).code).toBe('E_BACKEND');
    expect((err as CbtmError).message).toBe(
      'The tensorflow backend is not available here: not installed.',
    );
    await expect(selectBackend('gpu' as never)).rejects.toThrow(/Unknown backend "gpu"/);
    expect(await selectBackend('wasm')).toBe('wasm');
  });
});
