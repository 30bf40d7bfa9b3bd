import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runModelTasks, trainExperts } from './train-experts.js';

const run = join('/runs', 'a');

describe('runModelTasks', () => {
  it('lists the seed first, then each expert, dense and random expert with the budget matched', () => {
    const tasks = runModelTasks(run, {
      totalTokens: 1600,
      seedTokens: 400,
      shards: [0, 1, 2],
      random: [0, 1, 2],
      expertBatchSize: 2,
    });
    const seed = join(run, 'seed');
    const shards = [0, 1, 2].map((j) => join(run, 'shards', `${j}.jsonl.gz`));
    expect(tasks).toEqual([
      { name: 'seed', dir: seed, data: shards, tokens: 400 },
      ...[0, 1, 2].map((j) => ({
        name: `expert-${j}`,
        dir: join(run, 'experts', String(j)),
        data: [shards[j]],
        tokens: 400,
        initFrom: seed,
        batchSize: 2,
      })),
      { name: 'dense', dir: join(run, 'dense'), data: shards, tokens: 1200, initFrom: seed },
      ...[0, 1, 2].map((j) => ({
        name: `random-expert-${j}`,
        dir: join(run, 'random', 'experts', String(j)),
        data: [join(run, 'random', 'shards', `${j}.jsonl.gz`)],
        tokens: 400,
        initFrom: seed,
        batchSize: 2,
      })),
    ]);
  });

  it('trains only what it is asked, from an outside seed, with tokens per expert overridden', () => {
    const tasks = runModelTasks(run, {
      totalTokens: 900,
      shards: [0, 1, 2],
      experts: [2],
      dense: false,
      seedFrom: '/models/seed',
      seedTokens: 500, // ignored: the seed is given
      tokensPerExpert: 100,
    });
    expect(tasks).toEqual([
      {
        name: 'expert-2',
        dir: join(run, 'experts', '2'),
        data: [join(run, 'shards', '2.jsonl.gz')],
        tokens: 100,
        initFrom: '/models/seed',
      },
    ]);
    // Without a seed every model starts from scratch and shares the budget.
    const scratch = runModelTasks(run, { totalTokens: 900, shards: [0, 1, 2], experts: [] });
    expect(scratch).toEqual([
      { name: 'dense', dir: join(run, 'dense'), data: expect.any(Array), tokens: 900 },
    ]);
  });

  it('gives the seed alone its own thread count', () => {
    const tasks = runModelTasks(run, {
      totalTokens: 30,
      seedTokens: 10,
      shards: [0],
      seedThreads: 2,
    });
    expect(tasks.map((t) => [t.name, t.threads])).toEqual([
      ['seed', 2],
      ['expert-0', undefined],
      ['dense', undefined],
    ]);
  });

  it('rejects a budget, shard or batch that cannot work', () => {
    expect(() => runModelTasks(run, { totalTokens: 0, shards: [0] })).toThrow(/totalTokens/);
    expect(() => runModelTasks(run, { totalTokens: 10, shards: [] })).toThrow(/no <j>.jsonl.gz/);
    expect(() => runModelTasks(run, { totalTokens: 10, shards: [0], experts: [1] })).toThrow(
      /no shard 1/,
    );
    expect(() => runModelTasks(run, { totalTokens: 10, shards: [0], seedTokens: 10 })).toThrow(
      /seedTokens/,
    );
    expect(() =>
      runModelTasks(run, { totalTokens: 10, shards: [0], expertBatchSize: 1.5 }),
    ).toThrow(/expertBatchSize/);
  });
});

describe('trainExperts', () => {
  const tokenizer = join(run, 'tokenizer', 'tokenizer.json');
  const task = (name: string, dir: string, initFrom?: string) => ({
    name,
    dir,
    data: [],
    tokens: 10,
    ...(initFrom ? { initFrom } : {}),
  });

  it('checks the task list before starting anything', async () => {
    await expect(trainExperts([task('a', '/x'), task('a', '/y')], { tokenizer })).rejects.toThrow(
      /Two training tasks are named a/,
    );
    await expect(trainExperts([{ ...task('a', '/x'), tokens: 0 }], { tokenizer })).rejects.toThrow(
      /a: tokens must be positive/,
    );
    await expect(trainExperts([{ ...task('a', '/x'), threads: 0 }], { tokenizer })).rejects.toThrow(
      'a: threads must be a positive integer, got 0.',
    );
    await expect(
      trainExperts([task('s', '/s'), task('b', '/b', '/s'), task('c', '/c', '/b')], { tokenizer }),
    ).rejects.toThrow(/only one level/);
    await expect(trainExperts([task('a', '/x')], { tokenizer })).rejects.toThrow(
      /tokenizer.json is missing/,
    );
  });
});
