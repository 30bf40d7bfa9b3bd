import { join } from 'node:path';
import {
  type Document,
  deriveSeed,
  InvalidArgumentError,
  type LongRunOptions,
  progressReporter,
  Rng,
  throwIfAborted,
} from '@cbtm/core';
import {
  type AssignCorpusResult,
  assignCorpus,
  type CorpusEmbedder,
  embedBatch,
} from './assign-corpus.js';
import {
  type BalancedKMeansOptions,
  type BalancedKMeansResult,
  defaultBalancedKMeansOptions,
  fitBalancedKMeans,
} from './balanced-kmeans.js';
import type { ClusterModel } from './cluster-model.js';
import { saveClusterModel } from './serialize.js';

/** Options of {@link clusterCorpus}. */
export interface ClusterCorpusOptions extends BalancedKMeansOptions, LongRunOptions {
  /**
   * Fit on a seeded uniform sample (reservoir) of this many documents' embeddings; only the
   * sample is held in memory. @default 100000
   */
  readonly sampleSize?: number;
  /** Documents embedded at a time. @default 256 */
  readonly batchSize?: number;
  /** Document field with the evaluation label. @default 'domain' */
  readonly labelField?: string;
}

/** Default options of {@link clusterCorpus} (besides `k`). */
export const defaultClusterCorpusOptions = {
  ...defaultBalancedKMeansOptions,
  sampleSize: 100_000,
  batchSize: 256,
  labelField: 'domain',
} as const;

/** What {@link clusterCorpus} produced. */
export interface ClusterCorpusResult {
  readonly model: ClusterModel;
  /** The fit on the sample (its `assignments` index the sample, in corpus order). */
  readonly fit: BalancedKMeansResult;
  /** Documents in the corpus. */
  readonly documents: number;
  /** Documents in the fit sample. */
  readonly sampled: number;
  /** The streaming assignment and its outputs. */
  readonly assign: AssignCorpusResult;
}

/**
 * The whole cluster stage, as the paper does it: embed the corpus and keep a seeded sample of
 * embeddings (pass 1), fit balanced k-means on the sample, save the centroids to
 * `clusters/centroids.json`, then stream the corpus again and assign every document to its
 * nearest centroid (pass 2, {@link assignCorpus}). When the whole corpus fits in the sample,
 * the balanced fit's own assignment is used as is (no nearest-centroid step, sizes exactly
 * balanced).
 *
 * `corpus` is called once per pass and must yield the same documents in the same order
 * (e.g. `() => readCorpus(path)`).
 *
 * @example
 * ```ts
 * const result = await clusterCorpus(() => readCorpus('data/train.jsonl.gz'), embedder, 'runs/a', {
 *   k: 8,
 *   seed: 1,
 * });
 * console.log(result.assign.metrics.labels?.nmi);
 * ```
 */
export async function clusterCorpus(
  corpus: () => Iterable<Document> | AsyncIterable<Document>,
  embedder: CorpusEmbedder,
  runDir: string,
  options: ClusterCorpusOptions,
): Promise<ClusterCorpusResult> {
  const {
    signal,
    onProgress,
    batchSize: bs,
    labelField: lf,
    sampleSize: ss,
    ...fitOptions
  } = options;
  const sampleSize = ss ?? defaultClusterCorpusOptions.sampleSize;
  const batchSize = bs ?? defaultClusterCorpusOptions.batchSize;
  const labelField = lf ?? defaultClusterCorpusOptions.labelField;
  const seed = options.seed ?? defaultClusterCorpusOptions.seed;
  if (!(Number.isInteger(sampleSize) && sampleSize >= options.k)) {
    throw new InvalidArgumentError(
      `sampleSize must be an integer ≥ k = ${options.k}, got ${sampleSize}.`,
    );
  }
  const d = embedder.dimension;

  // Pass 1: embed everything, keep a reservoir sample (Algorithm R) of the vectors.
  const progress = progressReporter('cluster', onProgress, { task: 'embed', unit: 'docs' });
  progress.start('embedding the corpus for the fit sample');
  const rng = new Rng(deriveSeed(seed, 'reservoir'));
  let capacity = Math.min(sampleSize, 4096);
  let reservoir = new Float32Array(capacity * d);
  let origin = new Int32Array(capacity);
  let kept = 0;
  let seen = 0;
  let batch: Document[] = [];
  const flush = async () => {
    throwIfAborted(signal);
    const vectors = await embedBatch(embedder, batch, signal);
    for (let q = 0; q < batch.length; q++) {
      let slot = -1;
      if (kept < sampleSize) slot = kept++;
      else {
        const j = rng.int(0, seen);
        if (j < sampleSize) slot = j;
      }
      if (slot >= 0) {
        if (slot >= capacity) {
          capacity = Math.min(sampleSize, capacity * 2);
          const grown = new Float32Array(capacity * d);
          grown.set(reservoir);
          reservoir = grown;
          const grownOrigin = new Int32Array(capacity);
          grownOrigin.set(origin);
          origin = grownOrigin;
        }
        reservoir.set(vectors.subarray(q * d, q * d + d), slot * d);
        origin[slot] = seen;
      }
      seen += 1;
    }
    batch = [];
    progress.update(seen);
  };
  for await (const doc of corpus()) {
    batch.push(doc);
    if (batch.length === batchSize) await flush();
  }
  if (batch.length > 0) await flush();
  progress.done({ metrics: { documents: seen, sampled: kept } });
  if (seen < options.k) {
    throw new InvalidArgumentError(
      `The corpus has ${seen} documents, fewer than k = ${options.k} clusters.`,
    );
  }

  // The sample in corpus order, so the fit does not depend on reservoir slot order.
  const order = Array.from({ length: kept }, (_, s) => s).sort((a, b) => origin[a]! - origin[b]!);
  const sample = new Float32Array(kept * d);
  for (const [q, s] of order.entries()) sample.set(reservoir.subarray(s * d, s * d + d), q * d);
  reservoir = new Float32Array(0);

  const fit = await fitBalancedKMeans(sample, kept, d, {
    ...fitOptions,
    sampleSize: Number.POSITIVE_INFINITY,
    ...(signal ? { signal } : {}),
    ...(onProgress ? { onProgress } : {}),
  });
  await saveClusterModel(fit.model, join(runDir, 'clusters'));

  // Pass 2: stream every document into its shard.
  const whole = seen <= sampleSize;
  const assign = await assignCorpus(corpus(), fit.model, runDir, {
    embedder,
    batchSize,
    labelField,
    total: seen,
    ...(whole
      ? { assignments: fit.assignments, distances: fit.distances, method: 'balanced-fit' as const }
      : {}),
    ...(signal ? { signal } : {}),
    ...(onProgress ? { onProgress } : {}),
  });
  return { model: fit.model, fit, documents: seen, sampled: kept, assign };
}
