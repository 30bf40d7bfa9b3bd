import { rm } from 'node:fs/promises';
import { CENTROIDS_FILE } from '@cbtm/cluster';
import {
  createJsonlWriter,
  InvalidArgumentError,
  type JsonlWriter,
  throwIfAborted,
  writeJsonAtomic,
} from '@cbtm/core';
import type { ClusterMetricsFile } from './cluster-files.js';
import { readEmbeddings } from './embeddings-file.js';
import type { StageDefinition } from './stage.js';

/**
 * Fits balanced k-means on (a seeded sample of) the document embeddings: `<run>/clusters/`
 * (the centroids, via `ClusterModel.save`, and `fit.json`).
 */
export const clusterStage: StageDefinition = {
  name: 'cluster',
  inputs: ['embed'],
  paths: [`clusters/${CENTROIDS_FILE}`, 'clusters/fit.json'],
  enabled: () => true,
  stageConfig: ({ config }) => ({ cluster: config.cluster, seed: config.seed }),
  async execute({ run, config, signal, onProgress }) {
    const { fitBalancedKMeans } = await import('@cbtm/cluster');
    await rm(run.path('clusters', 'assignments.jsonl'), { force: true });
    const emb = await readEmbeddings(run);
    const { n, dimension: d } = emb.index;
    const { k, sample, iterations } = config.cluster;
    if (k > n) {
      throw new InvalidArgumentError(
        `k = ${k} is larger than the number of training documents (${n}). Choose --k ≤ ${n}.`,
      );
    }
    if (sample !== null && k > sample) {
      throw new InvalidArgumentError(
        `k = ${k} is larger than cluster.sample (${sample}). Raise the sample or lower k.`,
      );
    }
    const fit = await fitBalancedKMeans(emb.vectors, n, d, {
      k,
      maxIter: iterations,
      seed: config.seed,
      ...(sample !== null ? { sampleSize: sample } : {}),
      ...(signal ? { signal } : {}),
      ...(onProgress ? { onProgress } : {}),
    });
    await fit.model.save(run.path('clusters'));
    await writeJsonAtomic(run.path('clusters', 'fit.json'), {
      k,
      fittedOn: fit.sampleIndices?.length ?? n,
      inertia: fit.inertia,
      iterations: fit.iterations,
      converged: fit.converged,
    });
    return {
      outputs: [`clusters/${CENTROIDS_FILE}`, 'clusters/fit.json'],
      info: {
        k,
        fittedOn: fit.sampleIndices?.length ?? n,
        iterations: fit.iterations,
        inertia: fit.inertia,
      },
    };
  },
};

/**
 * Assigns every training document to its nearest centroid and writes the shards
 * (`<run>/shards/<j>.jsonl.gz`), `<run>/clusters/assignments.jsonl` and
 * `<run>/clusters/metrics.json` (sizes, inertia, and purity and NMI against the domain labels).
 */
export const shardStage: StageDefinition = {
  name: 'shard',
  inputs: ['embed', 'cluster'],
  paths: ['shards', 'clusters/assignments.jsonl', 'clusters/metrics.json'],
  enabled: () => true,
  stageConfig: () => ({}),
  async execute({ run, corpus, signal, onProgress }) {
    const { ClusterModel, contingencyTable, normalizedMutualInfo, purity } = await import(
      '@cbtm/cluster'
    );
    const model = await ClusterModel.load(run.path('clusters'));
    const emb = await readEmbeddings(run);
    const { n } = emb.index;
    const { clusters, distances } = model.assign(emb.vectors, n);
    onProgress?.({ stage: 'shard', status: 'start', done: 0, total: n, unit: 'docs' });
    const assignments = createJsonlWriter(run.path('clusters', 'assignments.jsonl'));
    const shards: JsonlWriter[] = Array.from({ length: model.k }, (_, j) =>
      createJsonlWriter(run.path('shards', `${j}.jsonl.gz`)),
    );
    let i = 0;
    try {
      for await (const doc of corpus.trainDocs()) {
        if (i >= n) break;
        if (i % 256 === 0) {
          throwIfAborted(signal);
          onProgress?.({ stage: 'shard', status: 'progress', done: i, total: n, unit: 'docs' });
        }
        const j = clusters[i]!;
        await assignments.write({ id: doc.id, cluster: j });
        await shards[j]!.write({
          id: doc.id,
          text: doc.text,
          ...(typeof doc.domain === 'string' ? { domain: doc.domain } : {}),
        });
        i += 1;
      }
    } catch (err) {
      await Promise.all([assignments, ...shards].map((w) => w.abort()));
      throw err;
    }
    await assignments.close();
    for (const w of shards) await w.close();
    const sizes = new Array<number>(model.k).fill(0);
    for (const c of clusters) sizes[c] += 1;
    let inertia = 0;
    for (const x of distances) inertia += x;
    const labeled = emb.domains.every((d) => d !== undefined) && emb.domains.length > 0;
    const table = labeled
      ? contingencyTable(emb.domains as string[], clusters, model.k)
      : undefined;
    const metrics: ClusterMetricsFile = {
      k: model.k,
      documents: n,
      sizes,
      inertia,
      purity: table ? purity(table) : null,
      // Clamped as before: floating-point rounding can put a perfect clustering at 1 + 2e-16.
      nmi: table ? Math.min(1, normalizedMutualInfo(table)) : null,
    };
    await writeJsonAtomic(run.path('clusters', 'metrics.json'), metrics);
    onProgress?.({ stage: 'shard', status: 'done', done: n, total: n, unit: 'docs' });
    return {
      outputs: ['shards', 'clusters/assignments.jsonl', 'clusters/metrics.json'],
      info: { sizes, purity: metrics.purity, nmi: metrics.nmi },
    };
  },
};
