import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunDir, writeJsonAtomic } from '@cbtm/core/node';
import { readTrainProgress } from '@cbtm/train/node';
import { describe, expect, it } from 'vitest';
import { redactRedisUrl, resolveQueueConnection } from './redis-connection.js';
import { runIdOf, targetProgress, trainingJobId } from './training-job.js';

describe('training job ids', () => {
  it('names a run by folder and a hash of its path and creation time', async () => {
    const root = await mkdtemp(join(tmpdir(), 'cbtm-jobid-'));
    try {
      const a = await RunDir.create(join(root, 'my run'));
      const id = runIdOf(a);
      expect(id).toMatch(/^my_run-[0-9a-f]{10}$/);
      expect(runIdOf(await RunDir.open(join(root, 'my run')))).toBe(id);
      const b = await RunDir.create(join(root, 'other', 'my run'));
      expect(runIdOf(b)).not.toBe(id);
      // BullMQ refuses custom ids with a single ':'; ours have none.
      expect(trainingJobId(id, 'expert-3')).toBe(`${id}/expert-3`);
      expect(trainingJobId(id, 'expert-3')).not.toContain(':');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('reads progress from train-state.json, summed over a target’s models', async () => {
    const root = await mkdtemp(join(tmpdir(), 'cbtm-progress-'));
    try {
      expect(await readTrainProgress(join(root, 'experts', '0'))).toEqual({
        step: 0,
        totalSteps: null,
        done: false,
      });
      await writeJsonAtomic(join(root, 'experts', '0', 'train-state.json'), {
        step: 7,
        totalSteps: 10,
        done: false,
      });
      expect(await targetProgress(root, { kind: 'expert', expert: 0 })).toEqual({
        models: 1,
        step: 7,
        totalSteps: 10,
        done: false,
      });
      await writeJsonAtomic(join(root, 'dense', 'train-state.json'), {
        step: 20,
        totalSteps: 20,
        done: true,
      });
      expect((await targetProgress(root, { kind: 'dense' })).done).toBe(true);
      // No random shards: nothing to train, so never "done".
      expect(await targetProgress(root, { kind: 'random' })).toEqual({
        models: 0,
        step: 0,
        totalSteps: 0,
        done: false,
      });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('queue connection options', () => {
  it('checks the URL and names, and hides passwords in messages', () => {
    expect(resolveQueueConnection({ redis: 'redis://h:1' })).toEqual({
      redis: 'redis://h:1',
      queueName: 'cbtm-train',
      prefix: 'cbtm',
      connectTimeoutMs: 5000,
    });
    expect(() => resolveQueueConnection({ redis: 'localhost:6379' })).toThrow(/redis:\/\//);
    expect(() => resolveQueueConnection({ redis: 'http://h:1' })).toThrow(
      /must start with redis:\/\//,
    );
    expect(() => resolveQueueConnection({ redis: 'redis://h:1', queueName: 'a:b' })).toThrow(
      /queueName/,
    );
    expect(redactRedisUrl('redis://user:secret@h:1/0')).toBe('redis://user:***@h:1/0');
  });
});
