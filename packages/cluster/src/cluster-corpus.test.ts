import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProgressEvent } from '@cbtm/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clusterCorpus } from './cluster-corpus.js';
import { loadClusterModel } from './serialize.js';
import { LetterEmbedder, letterCorpus } from './test-utils/letter-embedder.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cbtm-cluster-corpus-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('clusterCorpus', () => {
  it('uses the balanced fit assignment as is when the corpus fits in the sample', async () => {
    const docs = letterCorpus(31);
    const events: ProgressEvent[] = [];
    const res = await clusterCorpus(() => docs, new LetterEmbedder(), dir, {
      k: 3,
      seed: 7,
      onProgress: (e) => {
        events.push(e);
      },
    });
    expect(res.documents).toBe(31);
    expect(res.sampled).toBe(31);
    expect(res.assign.metrics.method).toBe('balanced-fit');
    expect(Array.from(res.assign.sizes).sort()).toEqual([10, 10, 11]);
    expect(Array.from(res.assign.sizes)).toEqual(Array.from(res.fit.sizes));
    // Three clean domains: found exactly.
    expect(res.assign.metrics.labels!.nmi).toBeCloseTo(1, 10);
    const lines = (await readFile(join(dir, 'clusters', 'assignments.jsonl'), 'utf8'))
      .trim()
      .split('\n');
    expect(lines.map((l) => JSON.parse(l).cluster)).toEqual(Array.from(res.fit.assignments));
    const saved = await loadClusterModel(join(dir, 'clusters'));
    expect(Array.from(saved.centroids)).toEqual(Array.from(res.model.centroids));
    expect(new Set(events.map((e) => e.stage))).toEqual(new Set(['cluster', 'assign']));
  });

  it('fits on a reservoir sample and assigns the rest by nearest centroid, reproducibly', async () => {
    const docs = letterCorpus(200);
    const run = (sub: string) =>
      clusterCorpus(() => docs, new LetterEmbedder(), join(dir, sub), {
        k: 3,
        seed: 3,
        sampleSize: 40,
        batchSize: 16,
      });
    const a = await run('a');
    expect(a.sampled).toBe(40);
    expect(a.fit.assignments.length).toBe(40);
    expect(a.assign.metrics.method).toBe('nearest-centroid');
    expect(a.assign.documents).toBe(200);
    const b = await run('b');
    expect(Array.from(b.model.centroids)).toEqual(Array.from(a.model.centroids));
    expect(await readFile(join(dir, 'b', 'clusters', 'assignments.jsonl'), 'utf8')).toBe(
      await readFile(join(dir, 'a', 'clusters', 'assignments.jsonl'), 'utf8'),
    );
  });

  it('passes balanceSlack to the fit: uneven domains keep their sizes', async () => {
    // Domains of 30, 20 and 10 documents. Exact balance makes 20 / 20 / 20 and must split the
    // big one; a slack of 0.5 allows 10 to 30, so every domain stays whole.
    const quota = new Map([
      ['aaa', 30],
      ['mmm', 20],
      ['xyz', 10],
    ]);
    const docs = letterCorpus(90).filter((d) => {
      const left = quota.get(String(d.domain))!;
      quota.set(String(d.domain), left - 1);
      return left > 0;
    });
    expect(docs.length).toBe(60);
    const exact = await clusterCorpus(() => docs, new LetterEmbedder(), join(dir, 'exact'), {
      k: 3,
      seed: 1,
    });
    expect(Array.from(exact.assign.sizes)).toEqual([20, 20, 20]);
    expect(exact.assign.metrics.labels!.nmi).toBeLessThan(0.9);
    const slack = await clusterCorpus(() => docs, new LetterEmbedder(), join(dir, 'slack'), {
      k: 3,
      seed: 1,
      balanceSlack: 0.5,
    });
    expect(Array.from(slack.assign.sizes).sort((a, b) => a - b)).toEqual([10, 20, 30]);
    expect(slack.assign.metrics.balanceRatio).toBe(3);
    expect(slack.assign.metrics.labels!.nmi).toBeCloseTo(1, 10);
  });

  it('refuses a corpus smaller than k', async () => {
    await expect(
      clusterCorpus(() => letterCorpus(2), new LetterEmbedder(), dir, { k: 3 }),
    ).rejects.toThrow(/fewer than k/);
  });
});
