import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { AbortError, type Document } from '@cbtm/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assignCorpus } from './assign-corpus.js';
import { ClusterModel } from './cluster-model.js';
import { contingencyTable, normalizedMutualInfo, purity } from './metrics.js';
import { randomClusters } from './random-clusters.js';
import { LetterEmbedder, letterCorpus } from './test-utils/letter-embedder.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cbtm-cluster-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const readJsonl = async (file: string) =>
  (file.endsWith('.gz')
    ? gunzipSync(await readFile(file)).toString('utf8')
    : await readFile(file, 'utf8')
  )
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

async function* stream(docs: Document[]) {
  for (const d of docs) yield d;
}

describe('assignCorpus', () => {
  it('assigns each document to its nearest centroid and writes assignments, shards and metrics', async () => {
    const embedder = new LetterEmbedder();
    const docs = letterCorpus(30);
    // Centroids: one per domain (its first document's vector), plus an unused far-away one.
    const rows = [0, 1, 2].map((i) => embedder.vector(docs[i]!.text));
    const centroids = new Float32Array(4 * 26);
    for (const [j, r] of rows.entries()) centroids.set(r, j * 26);
    centroids.fill(-5, 3 * 26);
    const model = new ClusterModel(centroids, 4, 26);
    const res = await assignCorpus(stream(docs), model, dir, { embedder, batchSize: 7 });

    const expected = docs.map((d) => model.nearest(embedder.vector(d.text), 1).indices[0]!);
    const lines = await readJsonl(join(dir, 'clusters', 'assignments.jsonl'));
    expect(lines).toEqual(docs.map((d, i) => ({ id: d.id, cluster: expected[i] })));
    for (let j = 0; j < 4; j++) {
      const shard = await readJsonl(join(dir, 'shards', `${j}.jsonl.gz`));
      expect(shard).toEqual(docs.filter((_, i) => expected[i] === j));
    }
    expect(embedder.calls).toBe(5); // ceil(30 / 7) batches

    const metrics = JSON.parse(await readFile(join(dir, 'clusters', 'metrics.json'), 'utf8'));
    const table = contingencyTable(
      docs.map((d) => d.domain!),
      expected,
      4,
    );
    expect(metrics.method).toBe('nearest-centroid');
    expect(metrics.sizes).toEqual([10, 10, 10, 0]);
    expect(metrics.balanceRatio).toBeNull();
    expect(metrics.labels.nmi).toBeCloseTo(normalizedMutualInfo(table), 12);
    expect(metrics.labels.purity).toBe(purity(table));
    expect(metrics.labels.contingency).toEqual(table.counts);
    let inertia = 0;
    for (const d of docs) inertia += model.nearest(embedder.vector(d.text), 1).distances[0]!;
    expect(metrics.inertia).toBeCloseTo(inertia, 4);
    expect(res.metrics).toEqual(metrics);
    // No temp files left behind.
    expect((await readdir(join(dir, 'shards'))).sort()).toEqual([
      '0.jsonl.gz',
      '1.jsonl.gz',
      '2.jsonl.gz',
      '3.jsonl.gz',
    ]);
  });

  it('writes the random baseline in the same format, balanced and reproducible', async () => {
    const docs = letterCorpus(23);
    const a = await assignCorpus(docs, randomClusters(5, 3), join(dir, 'a'), { total: 23 });
    const b = await assignCorpus(docs, randomClusters(5, 3), join(dir, 'b'), { total: 23 });
    expect(Array.from(a.sizes)).toEqual([5, 5, 5, 4, 4]);
    const lines = await readJsonl(join(dir, 'a', 'clusters', 'assignments.jsonl'));
    expect(lines).toEqual(await readJsonl(join(dir, 'b', 'clusters', 'assignments.jsonl')));
    expect(lines.map((l) => l.cluster)).toEqual(Array.from(randomClusters(5, 3).assignments(23)));
    expect(a.metrics.method).toBe('random');
    expect(a.metrics.inertia).toBeNull();
    expect(b.metrics.labels?.classes).toEqual(['aaa', 'mmm', 'xyz']);
    await expect(assignCorpus(docs, randomClusters(5, 3), join(dir, 'c'))).rejects.toThrow(
      /needs `total`/,
    );
    await expect(
      assignCorpus(docs, randomClusters(5, 3), join(dir, 'd'), { total: 22 }),
    ).rejects.toThrow(/more documents than total = 22/);
  });

  it('writes shard records cut to the chosen fields, to the chosen paths', async () => {
    const docs = letterCorpus(6).map((d, i) => (i === 2 ? { id: d.id, text: d.text } : d));
    const outputs = {
      assignments: join('random', 'assignments.jsonl'),
      metrics: join('random', 'metrics.json'),
      shard: (j: number) => join('random', 'shards', `${j}.jsonl.gz`),
    };
    const res = await assignCorpus(docs, randomClusters(2, 1), dir, {
      total: 6,
      fields: ['domain'],
      outputs,
    });
    expect(res.files.shards).toEqual([0, 1].map((j) => join(dir, outputs.shard(j))));
    const shards = [
      ...(await readJsonl(join(dir, 'random', 'shards', '0.jsonl.gz'))),
      ...(await readJsonl(join(dir, 'random', 'shards', '1.jsonl.gz'))),
    ].sort((a, b) => String(a.id).localeCompare(String(b.id)));
    // Key order id, text, then the fields: the records the pipeline has always written.
    expect(shards.map((r) => JSON.stringify(r))).toEqual(
      docs.map((d) =>
        JSON.stringify(
          d.domain === undefined
            ? { id: d.id, text: d.text }
            : { id: d.id, text: d.text, domain: d.domain },
        ),
      ),
    );
    expect((await readJsonl(join(dir, 'random', 'assignments.jsonl'))).length).toBe(6);
    expect(JSON.parse(await readFile(join(dir, 'random', 'metrics.json'), 'utf8')).documents).toBe(
      6,
    );
    await expect(readdir(join(dir, 'shards'))).rejects.toThrow();
  });

  it('appends held-out documents, each at its nearest centroid and marked, outside shards and metrics', async () => {
    const embedder = new LetterEmbedder();
    const docs = letterCorpus(9);
    const extra = letterCorpus(14)
      .slice(9)
      .map((d) => ({ ...d, id: `held-${d.id}` }));
    const centroids = new Float32Array(3 * 26);
    for (let j = 0; j < 3; j++) centroids.set(embedder.vector(docs[j]!.text), j * 26);
    const model = new ClusterModel(centroids, 3, 26);
    const res = await assignCorpus(docs, model, dir, {
      assignments: [0, 1, 2, 0, 1, 2, 0, 1, 2],
      embedder,
      heldOut: stream(extra),
      batchSize: 2,
    });
    expect(res.heldOut).toBe(5);
    expect(res.documents).toBe(9);
    expect(Array.from(res.sizes)).toEqual([3, 3, 3]);
    const lines = await readJsonl(join(dir, 'clusters', 'assignments.jsonl'));
    expect(lines.slice(9)).toEqual(
      extra.map((d) => ({
        id: d.id,
        cluster: model.nearest(embedder.vector(d.text), 1).indices[0],
        heldOut: true,
      })),
    );
    const shardIds = (
      await Promise.all([0, 1, 2].map((j) => readJsonl(join(dir, 'shards', `${j}.jsonl.gz`))))
    )
      .flat()
      .map((r) => r.id);
    expect(shardIds.sort()).toEqual(docs.map((d) => d.id).sort());
    await expect(
      assignCorpus(docs, randomClusters(3), join(dir, 'r'), { total: 9, heldOut: extra, embedder }),
    ).rejects.toThrow(/only to a ClusterModel/);
    await expect(
      assignCorpus(docs, model, join(dir, 'e'), {
        assignments: new Array(9).fill(0),
        heldOut: extra,
      }),
    ).rejects.toThrow(/needs an embedder/);
  });

  it('uses given assignments as is, and checks they match the corpus', async () => {
    const docs = letterCorpus(6);
    const model = new ClusterModel(new Float32Array(2 * 26), 2, 26);
    const res = await assignCorpus(docs, model, dir, {
      assignments: [1, 0, 1, 0, 1, 0],
      distances: [1, 2, 3, 4, 5, 6],
      method: 'balanced-fit',
    });
    expect(Array.from(res.sizes)).toEqual([3, 3]);
    expect(res.metrics.inertia).toBe(21);
    expect(res.metrics.method).toBe('balanced-fit');
    await expect(
      assignCorpus(docs, model, join(dir, 'short'), { assignments: [0, 1] }),
    ).rejects.toThrow(/one to one/);
    await expect(
      assignCorpus(docs, model, join(dir, 'long'), { assignments: new Array(9).fill(0) }),
    ).rejects.toThrow(/one to one/);
    // A failed run leaves no outputs.
    await expect(readdir(join(dir, 'long', 'shards'))).resolves.toEqual([]);
    await expect(readFile(join(dir, 'long', 'clusters', 'metrics.json'))).rejects.toThrow();
  });

  it('requires an embedder for a ClusterModel, of the right dimension', async () => {
    const model = new ClusterModel(new Float32Array(3 * 4), 3, 4);
    await expect(assignCorpus(letterCorpus(3), model, dir)).rejects.toThrow(/needs an embedder/);
    await expect(
      assignCorpus(letterCorpus(3), model, dir, { embedder: new LetterEmbedder() }),
    ).rejects.toThrow(/dimension/);
  });

  it('stops on abort without leaving partial files', async () => {
    const ac = new AbortController();
    const run = assignCorpus(letterCorpus(50), randomClusters(3, 1), dir, {
      total: 50,
      batchSize: 10,
      signal: ac.signal,
      onProgress: (e) => {
        if (e.done >= 20) ac.abort();
      },
    });
    await expect(run).rejects.toBeInstanceOf(AbortError);
    await expect(readdir(join(dir, 'shards'))).resolves.toEqual([]);
    await expect(readdir(join(dir, 'clusters'))).resolves.toEqual([]);
  });
});
