import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { AbortError, type ProgressEvent } from '@cbtm/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainBpeTokenizer } from '../tokenizer/index.js';
import { type RunModelTasksOptions, runModelTasks, trainExperts } from './train-experts.js';
import { readTrainState } from './train-state.js';

// Workers run the built worker script from dist/: nx builds the package before its tests.

const topics = [
  ['the river runs to the sea', 'boats sail on the river', 'fish swim in the sea and the river'],
  ['the court heard the case', 'the judge read the law', 'a lawyer argued the case in court'],
];
let run: string;

beforeAll(async () => {
  run = await mkdtemp(join(tmpdir(), 'cbtm-experts-'));
  await mkdir(join(run, 'shards'), { recursive: true });
  await mkdir(join(run, 'tokenizer'), { recursive: true });
  const all: string[] = [];
  for (const [j, sentences] of topics.entries()) {
    const lines = Array.from({ length: 30 }, (_, i) =>
      JSON.stringify({ id: `${j}-${i}`, text: `${sentences[i % 3]} ${i}.` }),
    );
    all.push(...lines.map((l) => JSON.parse(l).text));
    await writeFile(join(run, 'shards', `${j}.jsonl.gz`), gzipSync(`${lines.join('\n')}\n`));
  }
  const tok = await trainBpeTokenizer(all, { vocabSize: 300 });
  await tok.save(join(run, 'tokenizer', 'tokenizer.json'));
});
afterAll(async () => {
  await rm(run, { recursive: true, force: true });
});

/** A run's models (two shards), as the pipeline lists them. */
const tasksOf = (dir: string, o: Omit<RunModelTasksOptions, 'shards'>) =>
  runModelTasks(dir, { shards: [0, 1], ...o });
const tokenizerOf = (dir: string) => join(dir, 'tokenizer', 'tokenizer.json');

describe('trainExperts', () => {
  it('matches compute across experts and dense, and retries a killed worker from its checkpoint', async () => {
    const pids = new Map<string, number>();
    let killed = false;
    const events: ProgressEvent[] = [];
    // 40 steps of 4×16 tokens per expert (the kill comes at step 5: a loaded machine may deliver
    // that event late, but not 35 steps late); the dense model gets 80
    const tasks = tasksOf(run, { totalTokens: 2 * 40 * 4 * 16 });
    const result = await trainExperts(tasks, {
      tokenizer: tokenizerOf(run),
      resultsFile: join(run, 'train-results.json'),
      modelConfig: { nLayer: 1, dModel: 16, nHead: 2, contextLength: 16 },
      train: { batchSize: 4, checkpointEvery: 2, logEvery: 1, evalEvery: 6, evalTokens: 64 },
      workers: 2,
      backend: 'wasm',
      log: () => {},
      onWorker: ({ pid, task }) => pids.set(task, pid),
      onProgress: (e) => {
        events.push(e);
        if (!killed && e.task === 'expert-0' && e.done >= 5) {
          killed = true;
          process.kill(pids.get('expert-0')!, 'SIGKILL');
        }
      },
    });
    expect(killed).toBe(true);
    expect(result.backend).toBe('wasm');
    expect(result.models.map((m) => m.name)).toEqual(['expert-0', 'expert-1', 'dense']);
    const [e0, e1, dense] = result.models;
    expect(e0).toMatchObject({ steps: 40, tokens: 40 * 64, retries: 1 });
    expect(e1).toMatchObject({ steps: 40, tokens: 40 * 64, retries: 0 });
    expect(dense).toMatchObject({ steps: 80, tokens: 80 * 64, retries: 0 });
    expect(e0!.valLoss).toBeGreaterThan(0);
    // The resumed expert kept every step's history, before and after the crash.
    expect(e0!.history.map((h) => h.step)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    for (const [name, dir] of [
      ['expert-0', join(run, 'experts', '0')],
      ['dense', join(run, 'dense')],
    ] as const) {
      const state = await readTrainState(dir);
      expect(state.done, name).toBe(true);
      expect(state.backend).toBe('wasm');
    }
    const saved = JSON.parse(await readFile(join(run, 'train-results.json'), 'utf8'));
    expect(saved.backend).toBe('wasm');
    expect(events.some((e) => e.task === 'dense' && e.status === 'done')).toBe(true);
    expect(
      events.filter((e) => e.task === undefined && e.status === 'progress').map((e) => e.done),
    ).toEqual([1, 2, 3]);
  });

  it('stops on Ctrl-C (SIGINT to the workers plus abort), checkpointing and restarting nothing', async () => {
    const ac = new AbortController();
    const started: string[] = [];
    const pids: number[] = [];
    let interrupted = false;
    const stepsSeen = new Map<string, number>();
    const dir = await mkdtemp(join(tmpdir(), 'cbtm-experts-int-'));
    await mkdir(join(dir, 'tokenizer'), { recursive: true });
    await writeFile(
      join(dir, 'tokenizer', 'tokenizer.json'),
      await readFile(join(run, 'tokenizer', 'tokenizer.json')),
    );
    await mkdir(join(dir, 'shards'), { recursive: true });
    for (const j of [0, 1]) {
      await writeFile(
        join(dir, 'shards', `${j}.jsonl.gz`),
        await readFile(join(run, 'shards', `${j}.jsonl.gz`)),
      );
    }
    // 4,000 steps per expert: far more than a loaded machine runs before the interrupt arrives.
    const training = trainExperts(tasksOf(dir, { totalTokens: 2 * 4000 * 4 * 16 }), {
      tokenizer: tokenizerOf(dir),
      modelConfig: { nLayer: 1, dModel: 16, nHead: 2, contextLength: 16 },
      train: { batchSize: 4, logEvery: 1 },
      workers: 2,
      backend: 'wasm',
      log: () => {},
      signal: ac.signal,
      onWorker: ({ pid, task }) => {
        started.push(task);
        pids.push(pid);
      },
      onProgress: (e) => {
        if (e.task !== undefined) stepsSeen.set(e.task, e.done);
        // Interrupt once both experts have taken steps, so that both have a checkpoint to keep.
        if (!interrupted && stepsSeen.size === 2 && Math.min(...stepsSeen.values()) >= 3) {
          interrupted = true;
          // A terminal's Ctrl-C: every process in the group gets SIGINT, the parent aborts.
          for (const pid of pids) process.kill(pid, 'SIGINT');
          ac.abort();
        }
      },
    });
    await expect(training).rejects.toBeInstanceOf(AbortError);
    expect(started.sort()).toEqual(['expert-0', 'expert-1']);
    for (const j of [0, 1]) {
      const state = await readTrainState(join(dir, 'experts', String(j)));
      expect(state.done).toBe(false);
      expect(state.step).toBeGreaterThan(0);
      expect(state.step).toBeLessThan(4000);
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('gives branched models the branch settings and experts their own batch (compute matched by steps)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cbtm-branch-'));
    await mkdir(join(dir, 'shards'), { recursive: true });
    await mkdir(join(dir, 'tokenizer'), { recursive: true });
    await writeFile(
      join(dir, 'tokenizer', 'tokenizer.json'),
      await readFile(join(run, 'tokenizer', 'tokenizer.json')),
    );
    for (const j of [0, 1]) {
      await writeFile(
        join(dir, 'shards', `${j}.jsonl.gz`),
        await readFile(join(run, 'shards', `${j}.jsonl.gz`)),
      );
    }
    // Seed 4 steps of 4×16 tokens; then 8 steps' worth for the dense model, 4 per expert.
    const tasks = tasksOf(dir, {
      totalTokens: (4 + 8) * 4 * 16,
      seedTokens: 4 * 4 * 16,
      expertBatchSize: 2,
    });
    const result = await trainExperts(tasks, {
      tokenizer: tokenizerOf(dir),
      modelConfig: { nLayer: 1, dModel: 16, nHead: 2, contextLength: 16 },
      train: { batchSize: 4, lr: 0.003, warmupSteps: 2, logEvery: 1 },
      branch: { lr: 0.001, warmupSteps: 0 },
      workers: 2,
      backend: 'wasm',
      log: () => {},
    });
    const byName = new Map(result.models.map((m) => [m.name, m]));
    // Same tokens for every expert, but with batch 2 each takes as many steps as the dense model.
    expect(byName.get('seed')).toMatchObject({ steps: 4, tokens: 4 * 64 });
    expect(byName.get('dense')).toMatchObject({ steps: 8, tokens: 8 * 64 });
    expect(byName.get('expert-0')).toMatchObject({ steps: 8, tokens: 8 * 32 });
    expect(byName.get('expert-1')).toMatchObject({ steps: 8, tokens: 8 * 32 });
    const seed = await readTrainState(join(dir, 'seed'));
    expect(seed.hyperparameters).toMatchObject({ lr: 0.003, warmupSteps: 2, batchSize: 4 });
    const dense = await readTrainState(join(dir, 'dense'));
    expect(dense.hyperparameters).toMatchObject({ lr: 0.001, warmupSteps: 0, batchSize: 4 });
    const expert = await readTrainState(join(dir, 'experts', '0'));
    expect(expert.hyperparameters).toMatchObject({ lr: 0.001, warmupSteps: 0, batchSize: 2 });
    // Without warm-up the first branch step already runs at the branch's peak rate.
    expect(byName.get('dense')!.history[0]!.lr).toBeCloseTo(0.001, 9);
    await rm(dir, { recursive: true, force: true });
  });

  it('returns at once when there is nothing to train', async () => {
    const result = await trainExperts(
      tasksOf(run, { totalTokens: 1000, experts: [], dense: false }),
      {
        tokenizer: tokenizerOf(run),
        modelConfig: { nLayer: 1, dModel: 16, nHead: 2, contextLength: 16 },
        log: () => {},
      },
    );
    expect(result.models).toEqual([]);
  });
});
