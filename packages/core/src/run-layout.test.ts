import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listExpertIds, listShardIds, pathExists, RunLayout } from './node.js';
import { RunDir } from './run-dir.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cbtm-layout-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('RunLayout', () => {
  it('places every file of the documented run layout', () => {
    const l = new RunLayout('/runs/a');
    expect(l.dir).toBe('/runs/a');
    expect(l.manifest).toBe('/runs/a/manifest.json');
    expect(l.manifest).toBe(RunDir.manifestPath('/runs/a'));
    expect(l.embedder).toBe('/runs/a/embedder');
    expect(l.clusters()).toBe('/runs/a/clusters');
    expect(l.clusters('metrics.json')).toBe('/runs/a/clusters/metrics.json');
    expect(l.addedExperts).toBe('/runs/a/clusters/added-experts.json');
    expect(l.addExpertWork('x', 'y')).toBe('/runs/a/.cbtm/add-expert/x/y');
    expect(l.shards).toBe('/runs/a/shards');
    expect(l.shard(3)).toBe('/runs/a/shards/3.jsonl.gz');
    expect(l.tokenizer).toBe('/runs/a/tokenizer/tokenizer.json');
    expect(l.experts).toBe('/runs/a/experts');
    expect(l.expert(12)).toBe('/runs/a/experts/12');
    expect(l.dense).toBe('/runs/a/dense');
    expect(l.seed).toBe('/runs/a/seed');
    expect(l.random()).toBe('/runs/a/random');
    expect(l.random('router')).toBe('/runs/a/random/router');
    expect(l.randomShards).toBe('/runs/a/random/shards');
    expect(l.randomShard(1)).toBe('/runs/a/random/shards/1.jsonl.gz');
    expect(l.randomExperts).toBe('/runs/a/random/experts');
    expect(l.randomExpert(1)).toBe('/runs/a/random/experts/1');
    expect(l.router).toBe('/runs/a/router');
    expect(l.evalResults).toBe('/runs/a/eval/results.json');
    expect(l.report).toBe('/runs/a/report.html');
    expect(l.trainResults).toBe('/runs/a/train-results.json');
    expect(l.path('eval', 'x.json')).toBe('/runs/a/eval/x.json');
  });

  it('keeps a relative run directory relative', () => {
    expect(new RunLayout('runs/b').expert(0)).toBe(join('runs', 'b', 'experts', '0'));
  });

  it('lists shard ids in numeric order and ignores everything else', async () => {
    const dir = join(root, 'run');
    const l = new RunLayout(dir);
    await mkdir(l.shards, { recursive: true });
    for (const name of [
      '2.jsonl.gz',
      '0.jsonl.gz',
      'notes.txt',
      '1.jsonl',
      'a.jsonl.gz',
      '.3.jsonl.gz.123.tmp',
      '4.jsonl.gz.bak',
    ]) {
      await writeFile(join(l.shards, name), '');
    }
    await mkdir(join(l.shards, 'sub'));
    expect(await l.shardIds()).toEqual([0, 2]);
    expect(await listShardIds(l.shards)).toEqual([0, 2]);
  });

  it('sorts ids as numbers, not as text', async () => {
    const l = new RunLayout(join(root, 'many'));
    await mkdir(l.randomShards, { recursive: true });
    for (const j of [10, 2, 1]) await writeFile(l.randomShard(j), '');
    expect(await l.randomShardIds()).toEqual([1, 2, 10]);
  });

  it('lists no shards or experts when the folder does not exist', async () => {
    const l = new RunLayout(join(root, 'missing'));
    expect(await l.shardIds()).toEqual([]);
    expect(await l.randomShardIds()).toEqual([]);
    expect(await l.expertIds()).toEqual([]);
    expect(await l.randomExpertIds()).toEqual([]);
  });

  it('lists numbered expert folders in numeric order, ignoring files and other folders', async () => {
    const l = new RunLayout(join(root, 'experts-run'));
    for (const j of [10, 0, 2]) await mkdir(l.expert(j), { recursive: true });
    await mkdir(join(l.experts, 'tmp'));
    await writeFile(join(l.experts, '3'), 'a file, not a model folder');
    await mkdir(l.randomExpert(1), { recursive: true });
    expect(await l.expertIds()).toEqual([0, 2, 10]);
    expect(await listExpertIds(l.experts)).toEqual([0, 2, 10]);
    expect(await l.randomExpertIds()).toEqual([1]);
  });
});

describe('pathExists', () => {
  it('is true for files and folders, false for what is not there', async () => {
    const file = join(root, 'f.txt');
    await writeFile(file, 'x');
    expect(await pathExists(file)).toBe(true);
    expect(await pathExists(root)).toBe(true);
    expect(await pathExists(join(root, 'nope'))).toBe(false);
    expect(await pathExists(join(file, 'below-a-file'))).toBe(false);
  });
});
