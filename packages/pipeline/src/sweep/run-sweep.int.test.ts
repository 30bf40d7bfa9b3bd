import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ProgressEvent, RunDir, readJsonFile, sha256Path } from '@cbtm/core/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyConfig } from '../test-utils/tiny-config.js';
import { runSweep, type SweepRunResult } from './run-sweep.js';
import type { SweepConfigInput } from './sweep-config.js';
import type { SweepResults } from './sweep-results.js';

let dir: string;
let config: SweepConfigInput;
let first: SweepRunResult;
const events: ProgressEvent[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cbtm-sweep-'));
  const base = tinyConfig(join(dir, 'sweep'));
  config = {
    ...base,
    train: { ...base.train, seedTokens: 2048 },
    eval: { maxDocs: 6, maxTokensPerDoc: 32 },
    report: { enabled: false },
    sweep: { k: [2, 1], tokens: [2048, 4096], topK: [1, 'all'] },
  };
  first = await runSweep(config, { onProgress: (e) => void events.push(e) });
}, 240_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ran = (r: SweepRunResult, run: string, stage: string) =>
  r.runs.find((x) => x.name === run)!.stages.find((s) => s.name === stage)?.status;

describe('runSweep (tiny grid: k ∈ {1, 2}, two budgets)', () => {
  it('trains the seed once, in the seed run, and branches every grid run from it', async () => {
    expect(first.runs.map((r) => r.name)).toEqual([
      'seed',
      'k1-t2048',
      'k1-t4096',
      'k2-t2048',
      'k2-t4096',
    ]);
    expect(ran(first, 'seed', 'seed')).toBe('ran');
    for (const r of first.runs.slice(1)) {
      expect(ran(first, r.name, 'seed')).toBe('skipped');
      expect(ran(first, r.name, 'experts')).toBe('ran');
      expect(await readdir(join(first.out, r.name))).not.toContain('seed');
      const state = await readJsonFile<{ initFrom: string }>(
        join(first.out, r.name, 'experts', '0', 'train-state.json'),
      );
      expect(state.initFrom).toBe(join(first.out, 'seed', 'seed'));
    }
    expect(first.results.seed).toMatchObject({ dir: join('seed', 'seed'), tokens: 2048 });
  });

  it('shares the tokenizer and the embedding across every run, and clusters within a k', async () => {
    const sum = (run: string, path: string) => sha256Path(join(first.out, run, path));
    const runs = first.runs.map((r) => r.name);
    for (const path of ['tokenizer', 'embedder']) {
      const sums = await Promise.all(runs.map((r) => sum(r, path)));
      expect(new Set(sums).size).toBe(1);
    }
    // Copied, not recomputed: the grid runs never ran these stages.
    for (const r of runs.slice(1)) {
      expect(ran(first, r, 'embed')).toBe('reused');
      expect(ran(first, r, 'tokenizer')).toBe('reused');
    }
    expect(ran(first, 'k1-t2048', 'cluster')).toBe('reused');
    expect(ran(first, 'k2-t2048', 'cluster')).toBe('ran');
    expect(ran(first, 'k2-t4096', 'cluster')).toBe('reused');
    expect(ran(first, 'k2-t4096', 'router')).toBe('reused');
    expect(await sum('k2-t2048', 'shards')).toBe(await sum('k2-t4096', 'shards'));
  });

  it('k = 1 runs have one expert and no baselines; k = 2 runs have two', async () => {
    for (const p of first.results.points) {
      expect(p.experts).toBe(p.k);
      expect((await readdir(join(first.out, p.run, 'experts'))).sort()).toEqual(
        p.k === 1 ? ['0'] : ['0', '1'],
      );
      const entries = await readdir(join(first.out, p.run));
      expect(entries).not.toContain('dense');
      expect(entries).not.toContain('random');
    }
  });

  it('writes every grid point with finite perplexities, per domain, and training cost', async () => {
    const results = await readJsonFile<SweepResults>(first.resultsFile);
    expect(results.format).toBe('cbtm-sweep-results');
    expect(results.points.map((p) => [p.k, p.tokens])).toEqual([
      [1, 2048],
      [1, 4096],
      [2, 2048],
      [2, 4096],
    ]);
    for (const p of results.points) {
      expect(Object.keys(p.perplexity).sort()).toEqual(['all', 'top1']);
      for (const v of Object.values(p.perplexity)) expect(Number.isFinite(v)).toBe(true);
      expect(Object.keys(p.perDomain.all!).length).toBeGreaterThan(0);
      for (const v of Object.values(p.perDomain.all!)) expect(Number.isFinite(v)).toBe(true);
      expect(p.training.seconds).toBeGreaterThan(0);
      expect(p.training.tokensPerSecond).toBeGreaterThan(0);
      expect(p.training.tokens).toBeGreaterThanOrEqual(p.tokens * 0.9);
    }
    // At k = 1, top-1 is all experts.
    const k1 = results.points[0]!;
    expect(k1.perplexity.top1).toBe(k1.perplexity.all);
    expect(results.validation?.documents).toBe(6);
  });

  it('draws the figure with one line per k, k = 1 labelled dense', async () => {
    const svg = await readFile(first.figure, 'utf8');
    expect(svg).toMatch(/^<svg/);
    expect(svg).toContain('k = 1 (dense)');
    expect(svg).toContain('k = 2');
    expect(svg.match(/<path /g)).toHaveLength(2);
    const html = await readFile(first.report, 'utf8');
    expect(html).toContain('k = 1 (dense)');
    expect(html).toContain('k = 2');
  });

  it('reports sweep progress that never goes backwards, with the runs’ own events', () => {
    const sweep = events.filter((e) => e.stage === 'sweep');
    expect(sweep[0]).toMatchObject({ status: 'start', done: 0, total: 5 });
    expect(sweep.at(-1)).toMatchObject({ status: 'done', done: 5, total: 5 });
    for (let i = 1; i < sweep.length; i++)
      expect(sweep[i]!.done).toBeGreaterThanOrEqual(sweep[i - 1]!.done);
    expect(events.some((e) => e.stage === 'train' && e.task === 'seed')).toBe(true);
  });

  it('reuses everything on a rerun, keeping the measured training times', async () => {
    const again = await runSweep(config);
    for (const r of again.runs)
      expect(r.stages.filter((s) => s.status === 'ran').map((s) => `${r.name}/${s.name}`)).toEqual(
        [],
      );
    expect(again.results.points).toEqual(first.results.points);
    expect(again.results.seed).toEqual(first.results.seed);
  }, 120_000);

  it('honours an AbortSignal', async () => {
    await expect(runSweep(config, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    });
  });

  it('retrains a grid run when the seed model changes', async () => {
    const seedRun = await RunDir.open(join(first.out, 'seed'));
    expect(seedRun.stageDone('seed')).toBe(true);
    const again = await runSweep({ ...config, sweep: { ...config.sweep, k: [1], tokens: [2048] } });
    expect(ran(again, 'k1-t2048', 'experts')).toBe('reused');
    // A different seed (another seed budget) means a different seed model.
    const changed = await runSweep({
      ...config,
      train: { ...config.train, seedTokens: 1024 },
      sweep: { ...config.sweep, k: [1], tokens: [2048] },
    });
    expect(ran(changed, 'seed', 'seed')).toBe('ran');
    expect(ran(changed, 'k1-t2048', 'experts')).toBe('ran');
  }, 120_000);
});

describe('runSweep with sweep.seedRatio (a seed per budget)', () => {
  let ratioDir: string;
  let ratioConfig: SweepConfigInput;
  let r: SweepRunResult;
  const ratioEvents: ProgressEvent[] = [];
  beforeAll(async () => {
    ratioDir = await mkdtemp(join(tmpdir(), 'cbtm-sweep-ratio-'));
    const base = tinyConfig(join(ratioDir, 'sweep'));
    ratioConfig = {
      ...base,
      eval: { maxDocs: 4, maxTokensPerDoc: 32 },
      report: { enabled: false },
      sweep: { k: [1, 2], tokens: [1024, 2048], topK: ['all'], seedRatio: 2 },
    };
    r = await runSweep(ratioConfig, { onProgress: (e) => void ratioEvents.push(e) });
  }, 240_000);
  afterAll(async () => {
    await rm(ratioDir, { recursive: true, force: true });
  });

  it('trains one seed per budget, of seedRatio × its tokens, and branches that budget from it', async () => {
    expect(r.runs.map((x) => x.name)).toEqual([
      'seed-t1024',
      'seed-t2048',
      'k1-t1024',
      'k1-t2048',
      'k2-t1024',
      'k2-t2048',
    ]);
    expect(ran(r, 'seed-t1024', 'seed')).toBe('ran');
    expect(ran(r, 'seed-t2048', 'seed')).toBe('ran');
    // The second seed run reuses the first one's embedding, clusters, shards and tokenizer.
    for (const stage of ['embed', 'cluster', 'shard', 'tokenizer'])
      expect(ran(r, 'seed-t2048', stage)).toBe('reused');
    for (const [budget, requested] of [
      [1024, 2048],
      [2048, 4096],
    ] as const) {
      const seedDir = join(r.out, `seed-t${budget}`, 'seed');
      const seedState = await readJsonFile<{ tokens: number }>(join(seedDir, 'train-state.json'));
      // Whole batches of 8 × 32 tokens (tinyConfig), at least the requested count.
      expect(seedState.tokens).toBeGreaterThanOrEqual(requested);
      expect(seedState.tokens).toBeLessThan(requested + 8 * 32);
      for (const k of [1, 2]) {
        const point = r.results.points.find((p) => p.k === k && p.tokens === budget)!;
        expect(point.seed).toEqual({
          dir: join(`seed-t${budget}`, 'seed'),
          tokens: seedState.tokens,
          training: expect.objectContaining({ tokens: seedState.tokens }),
        });
        const state = await readJsonFile<{ initFrom: string }>(
          join(r.out, point.run, 'experts', '0', 'train-state.json'),
        );
        expect(state.initFrom).toBe(seedDir);
      }
    }
    expect(r.results.seed).toBeNull();
    expect(r.results.seedRatio).toBe(2);
    const html = await readFile(r.report, 'utf8');
    expect(html).toContain('trained on 2 × the budget');
  });

  it('counts every seed run in its progress', () => {
    const sweep = ratioEvents.filter((e) => e.stage === 'sweep');
    expect(sweep[0]).toMatchObject({ status: 'start', done: 0, total: 6 });
    expect(sweep.at(-1)).toMatchObject({ status: 'done', done: 6, total: 6 });
  });

  it('reuses every seed and grid point on a rerun', async () => {
    const again = await runSweep(ratioConfig);
    for (const x of again.runs)
      expect(x.stages.filter((s) => s.status === 'ran').map((s) => `${x.name}/${s.name}`)).toEqual(
        [],
      );
    expect(again.results.points).toEqual(r.results.points);
  }, 120_000);
});
