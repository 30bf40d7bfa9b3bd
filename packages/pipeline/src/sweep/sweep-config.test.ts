import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseRunConfig, loadSweepConfig, resolveSweepConfig } from './sweep-config.js';
import { sweepPoints } from './sweep-layout.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cbtm-sweep-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('sweep config', () => {
  it('fills in the grid defaults and keeps every run-config field', () => {
    const config = resolveSweepConfig({ cluster: { iterations: 5 } });
    expect(config.sweep).toEqual({
      k: [1, 2, 4, 8],
      tokens: [250_000, 500_000, 1_000_000],
      topK: null,
      plot: 'all',
      seedRatio: null,
    });
    expect(config.out).toBe('runs/sweep');
    expect(config.train.seedFrom).toBeNull();
    const base = baseRunConfig(config);
    expect(base).not.toHaveProperty('sweep');
    expect(base.cluster.iterations).toBe(5);
  });

  it('names the bad field', () => {
    expect(() => resolveSweepConfig({ sweep: { k: [0] } })).toThrow(/sweep\.k\[0\]/);
    expect(() => resolveSweepConfig({ sweep: { tokens: [] } })).toThrow(/sweep\.tokens/);
    expect(() => resolveSweepConfig({ sweep: { k: [2, 2] } })).toThrow(/must not repeat/);
    expect(() => resolveSweepConfig({ sweep: { grid: 1 } })).toThrow(/sweep/);
    expect(() => resolveSweepConfig([])).toThrow(/expected a JSON object/);
  });

  it('resolves paths against the config file, out against cwd when defaulted', async () => {
    const file = join(dir, 'sweep.json');
    await writeFile(
      file,
      JSON.stringify({
        out: 'out/s',
        corpus: { train: 'data/train.jsonl' },
        train: { seedFrom: 'runs/big/dense' },
        sweep: { k: [4, 1], tokens: [20, 10] },
      }),
    );
    const config = await loadSweepConfig('sweep.json', dir);
    expect(config.out).toBe(join(dir, 'out/s'));
    expect(config.corpus.train).toBe(join(dir, 'data/train.jsonl'));
    expect(config.train.seedFrom).toBe(join(dir, 'runs/big/dense'));
    await writeFile(file, '{}');
    expect((await loadSweepConfig(file, '/tmp')).out).toBe('/tmp/runs/sweep');
  });

  it('orders the grid by k, then budget', () => {
    const points = sweepPoints(resolveSweepConfig({ sweep: { k: [4, 1], tokens: [20, 10] } }));
    expect(points.map((p) => p.name)).toEqual(['k1-t10', 'k1-t20', 'k4-t10', 'k4-t20']);
  });
  it('takes a seed ratio, positive only, and not together with train.seedFrom', () => {
    expect(resolveSweepConfig({ sweep: { seedRatio: 3 } }).sweep.seedRatio).toBe(3);
    expect(resolveSweepConfig({}).sweep.seedRatio).toBeNull();
    expect(() => resolveSweepConfig({ sweep: { seedRatio: 0 } })).toThrow(/sweep\.seedRatio/);
    expect(() =>
      resolveSweepConfig({ sweep: { seedRatio: 3 }, train: { seedFrom: 'runs/big/dense' } }),
    ).toThrow(
      'Invalid sweep config: sweep.seedRatio trains a seed for each budget, so train.seedFrom (one seed for all) must be null; set one of them.',
    );
  });
});
